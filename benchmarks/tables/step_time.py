"""Per-batch training time of every method on this device, split by phase (supplement's
timing comparison).

Each method trains the same model on the same fixed batch (so data loading is excluded) with
the runner's own ``training_step`` and ``BatchTimer``: CUDA events on a GPU, perf_counter on
the CPU, warm-up batches left out. The supplement reports Co-Mixup at 2.58x vanilla's time per
batch on ImageNet and 1.04x Puzzle Mix's; the ratios here are measured side by side in one
process, on the device named in the report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from benchmarks.batch_timer import PHASES, BatchTimer
from benchmarks.configs import TrainConfig
from benchmarks.engine import training_step
from benchmarks.environment import describe_device
from benchmarks.methods import METHOD_NAMES, get_method
from benchmarks.models import get_model
from benchmarks.optim import build_optimizer
from benchmarks.tables.paper import published

EXPERIMENT = "timing"
"""The MLflow experiment of the timing runs."""

_PAPER = published("timing")
PAPER_RATIOS = {
    ("comixup", "vanilla"): _PAPER["ratio_comixup_vanilla"],
    ("comixup", "puzzle_mix"): _PAPER["ratio_comixup_puzzle_mix"],
}
"""Co-Mixup supplement, ImageNet ResNet-50 timing (paper_values.toml)."""


@dataclass(frozen=True)
class TimingSetup:
    model: str = "preactresnet18"
    width: int | None = None
    num_classes: int = 100
    batch_size: int = 100
    image_size: int = 32
    batches: int = 20
    warmup: int = 5
    seed: int = 0


def default_setup(device: torch.device) -> TimingSetup:
    """CIFAR-100 PreActResNet18 at full width on a GPU; fewer batches on the CPU."""
    if device.type == "cuda":
        return TimingSetup()
    return TimingSetup(batches=5, warmup=1)


BACKENDS = ("compiled", "gco")
"""The labeling backends Puzzle Mix and Co-Mixup are timed with (``comixup.labeling``)."""
SOLVER_METHODS = ("puzzle_mix", "comixup")
"""The methods whose mixing phase is a graph-cut solver."""


def variants(methods: tuple[str, ...], backends: tuple[str, ...]) -> list[tuple[str, str, dict]]:
    """(row label, method, settings): one row per method, the solver methods once per backend
    (the first backend's row keeps the plain name, the one the ratios use)."""
    rows = []
    for name in methods:
        if name not in SOLVER_METHODS:
            rows.append((name, name, {}))
            continue
        for index, backend in enumerate(backends):
            label = name if index == 0 else f"{name} ({backend})"
            rows.append((label, name, {"labeling_backend": backend}))
    return rows


def time_method(
    name: str, setup: TimingSetup, device: torch.device, **settings: object
) -> dict[str, float]:
    """Median and p90 milliseconds per phase of ``setup.batches`` timed training steps."""
    generator = torch.Generator().manual_seed(setup.seed)
    x = torch.rand(setup.batch_size, 3, setup.image_size, setup.image_size, generator=generator)
    y = torch.randint(0, setup.num_classes, (setup.batch_size,), generator=generator)
    x, y = x.to(device), y.to(device)
    torch.manual_seed(setup.seed)
    model = get_model(setup.model, setup.num_classes, width=setup.width).to(device)
    model.train()
    method = get_method(name, num_classes=setup.num_classes, **settings)
    optimizer = build_optimizer(model, TrainConfig(lr=0.01))
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    timer = BatchTimer(device, warmup=setup.warmup)
    for index in range(setup.warmup + setup.batches):
        with timer.phase("data"):
            pass
        training_step(
            method,
            model,
            x,
            y,
            optimizer,
            scaler,
            timer,
            amp=False,
            generator=generator,
            where=f"timing batch {index + 1} of {name}",
        )
    return timer.summary()


def run(
    setup: TimingSetup,
    device: torch.device,
    methods: tuple[str, ...] = METHOD_NAMES,
    *,
    backends: tuple[str, ...] = BACKENDS,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The per-method table (ms per batch by phase, the solver's share of the step) and the
    headline ratios; Puzzle Mix and Co-Mixup once per labeling backend."""
    rows = []
    jobs = variants(methods, backends)
    for label, name, settings in tqdm(jobs, desc="timing", unit="method", disable=not progress):
        summary = time_method(name, setup, device, **settings)
        row = {"method": label, "backend": settings.get("labeling_backend", "")}
        for phase in (*PHASES, "total"):
            row[f"{phase} (ms)"] = summary.get(f"time_{phase}_median_ms", 0.0)
        row["total p90 (ms)"] = summary.get("time_total_p90_ms", 0.0)
        row["mixing share"] = row["mixing (ms)"] / row["total (ms)"] if row["total (ms)"] else 0.0
        rows.append(row)
    frame = pd.DataFrame(rows)
    totals = dict(zip(frame["method"], frame["total (ms)"], strict=True))
    if "vanilla" in totals:
        frame["x vanilla"] = frame["total (ms)"] / totals["vanilla"]
    ratios = {
        f"{a}/{b}": totals[a] / totals[b] for a, b in PAPER_RATIOS if a in totals and b in totals
    }
    return frame, ratios


def notes(setup: TimingSetup, device: torch.device, ratios: dict[str, float]) -> str:
    lines = [
        f"Device: {describe_device(device)}. Model {setup.model} (width "
        f"{setup.width or 'paper'}), batch {setup.batch_size} of 3x{setup.image_size}x"
        f"{setup.image_size}, {setup.num_classes} classes; median over {setup.batches} timed "
        f"batches after {setup.warmup} warm-up batches; a fixed batch, so data time is ~0. "
        "The mixing phase of Puzzle Mix and Co-Mixup is their graph-cut solver (plus mixing); "
        "its share of the step is in `mixing share`, per labeling backend.",
        "",
    ]
    for (a, b), paper in PAPER_RATIOS.items():
        key = f"{a}/{b}"
        if key in ratios:
            lines.append(
                f"- {a} / {b}: {ratios[key]:.2f}x here (supplement, ImageNet: {paper:.2f}x)"
            )
    return "\n".join(lines)


def log_run(
    setup: TimingSetup, device: torch.device, ratios: dict[str, float], files: list[Path]
) -> str:
    """One MLflow run in the current experiment: the setup as params, the environment as tags,
    the headline ratios as metrics and the written ``files`` as artifacts; returns its id."""
    import mlflow

    from benchmarks.tracking import environment_tags

    with mlflow.start_run(run_name=f"timing-{device.type}") as run:
        mlflow.log_params({key: str(value) for key, value in dataclasses.asdict(setup).items()})
        mlflow.set_tags(environment_tags(device))
        mlflow.log_metrics({key.replace("/", "_over_"): value for key, value in ratios.items()})
        for path in files:
            mlflow.log_artifact(str(path))
    return run.info.run_id
