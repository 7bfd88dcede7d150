"""The timing checks of an acceptance run: the runner's per-batch timer against a synchronised
wall clock, and the timing grid of every method side by side, split by phase, on synthetic
tensors of the paper's shapes, with the ratios beside the supplement's.

The grid is the one ``comixup-bench timing`` measures (``runner.timing.run``: the runner's own
``training_step`` and ``BatchTimer``, CUDA events on a GPU, perf_counter on the CPU); this
module only picks the shapes and judges the result.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch

from benchmarks.runner.batch_timer import PHASES, BatchTimer
from benchmarks.runner.timing import BACKENDS, TimingSetup
from benchmarks.runner.timing import run as time_grid
from benchmarks.tables.paper import published

Verdict = tuple[str, str, dict]
"""(status, reason, figures) of one check."""


@dataclass(frozen=True)
class Grid:
    """One shape of the timing grid."""

    name: str
    title: str
    setup: TimingSetup
    backends: tuple[str, ...]


def grids(device: torch.device, tiny: bool) -> list[Grid]:
    """CIFAR-100 / PreActResNet18 / batch 100 / 32 px and ImageNet / ResNet-50 / batch 64 /
    224 px, each without and with AMP; ``tiny`` keeps the shapes' classes and datasets but
    shrinks width, batch, image and batch counts (and times one labeling backend) so that the
    CPU mode fits CI."""
    cifar = TimingSetup(batch_size=100, image_size=32, batches=10, warmup=3)
    imagenet = TimingSetup(
        model="resnet50", num_classes=1000, batch_size=64, image_size=224, batches=5, warmup=2,
        dataset="imagenet",
    )  # fmt: skip
    backends = BACKENDS
    if tiny:
        cifar = TimingSetup(width=4, batch_size=4, image_size=32, batches=1, warmup=0)
        # ResNet-50 has no width to narrow and takes seconds a batch on a CPU: the tiny
        # ImageNet grid keeps its classes, method defaults and normalisation on a narrow
        # PreActResNet18; ResNet-50 itself runs in the full (GPU) grid.
        imagenet = TimingSetup(
            width=4, num_classes=1000, batch_size=4, image_size=32, batches=1, warmup=0,
            dataset="imagenet",
        )  # fmt: skip
        backends = BACKENDS[:1]
    shapes = (
        ("cifar100", f"CIFAR-100 / {_model_name(cifar)}", cifar),
        ("imagenet", f"ImageNet / {_model_name(imagenet)}", imagenet),
    )
    return [
        Grid(
            f"timing-{name}-{'amp' if amp else 'fp32'}",
            f"{title} / batch {setup.batch_size} / {setup.image_size} px, "
            f"{'AMP' if amp else 'float32'}, every method by phase",
            dataclasses.replace(setup, amp=amp),
            backends,
        )
        for name, title, setup in shapes
        for amp in (False, True)
    ]


def _model_name(setup: TimingSetup) -> str:
    return {"resnet50": "ResNet-50", "preactresnet18": "PreActResNet18"}[setup.model] + (
        f" (width {setup.width})" if setup.width else ""
    )


def clock_name(device: torch.device) -> str:
    """The clock ``BatchTimer`` uses on ``device``."""
    return "CUDA events" if device.type == "cuda" else "time.perf_counter"


def _workload(device: torch.device) -> None:
    """A few tens of milliseconds of device work, launched asynchronously on CUDA."""
    side = 2048 if device.type == "cuda" else 256
    a = torch.randn(side, side, device=device)
    for _ in range(40 if device.type == "cuda" else 20):
        a = torch.tanh(a @ a / side)


def check_timer(device: torch.device) -> Verdict:
    """The runner's ``BatchTimer`` reads what a synchronised wall clock reads around the same
    device work (within 10% and 2 ms): on CUDA its events must see the work the host only
    launched, on the CPU its perf_counter readings."""
    _workload(device)  # warm-up: kernels, allocator
    timer = BatchTimer(device, warmup=0)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    with timer.phase("step"):
        _workload(device)
    seconds = timer.end_batch({})  # synchronises on CUDA before reading the events
    wall = time.perf_counter() - started
    measured = seconds["forward_backward"]
    figures = {
        "clock": clock_name(device),
        "timer (ms)": measured * 1000,
        "synchronised wall clock (ms)": wall * 1000,
    }
    agree = 0 < measured <= wall + 0.002 and measured >= 0.9 * wall - 0.002
    if not agree:
        return (
            "fail",
            (
                f"the {clock_name(device)} timer read {measured * 1000:.2f} ms for work the wall "
                f"clock saw take {wall * 1000:.2f} ms"
            ),
            figures,
        )
    return "pass", f"{clock_name(device)} agree with the wall clock", figures


def _paper_ratios() -> dict[str, float]:
    paper = published("timing")
    return {
        "comixup/vanilla": paper["ratio_comixup_vanilla"],
        "comixup/puzzle_mix": paper["ratio_comixup_puzzle_mix"],
    }


def _problems(rows: list[dict], methods: tuple[str, ...]) -> list[str]:
    """What is wrong with a timed grid: a method missing, a non-finite or non-positive total,
    phases that do not add up to the total."""
    problems = [f"{m} missing" for m in methods if m not in {r["method"] for r in rows}]
    for row in rows:
        total = row["total (ms)"]
        if not (math.isfinite(total) and total > 0):
            problems.append(f"{row['method']}: total {total} ms")
            continue
        parts = sum(row[f"{phase} (ms)"] for phase in PHASES)
        if abs(parts - total) > 0.01 * total + 1e-6:
            problems.append(f"{row['method']}: phases add to {parts:.3f} ms, total {total:.3f}")
    return problems


def check_grid(
    grid: Grid, device: torch.device, methods: tuple[str, ...], progress: bool
) -> Verdict:
    """Time every method of ``grid`` side by side; passes when every method has a finite,
    positive total that its phases add up to. The ratios and Co-Mixup's solver share are
    figures, not pass criteria: they depend on the hardware."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    frame, ratios = time_grid(
        grid.setup, device, methods, backends=grid.backends, progress=progress
    )
    rows = frame.to_dict("records")
    figures: dict = {
        "clock": clock_name(device),
        "timed batches": grid.setup.batches,
        "warm-up batches": grid.setup.warmup,
        "seconds": time.perf_counter() - started,
    }
    if device.type == "cuda":
        figures["peak GPU memory (GiB)"] = torch.cuda.max_memory_allocated(device) / 2**30
    comixup = next((r for r in rows if r["method"] == "comixup"), None)
    if comixup is not None:
        figures["Co-Mixup solver share of its step (mixing phase)"] = comixup["mixing share"]
    figures["ratios"] = [
        {"ratio": key, "measured": ratios.get(key, float("nan")), "paper (ImageNet)": paper}
        for key, paper in _paper_ratios().items()
    ]
    figures["per method (ms per batch)"] = rows
    problems = _problems(rows, methods)
    if problems:
        return "fail", "; ".join(problems), figures
    shown = ", ".join(f"{key} {ratios[key]:.2f}x" for key in _paper_ratios() if key in ratios)
    return "pass", f"every method timed ({clock_name(device)}); {shown}", figures
