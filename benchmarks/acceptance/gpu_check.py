"""``comixup-bench gpu-check``: every device-specific path of the suite tried in one unattended
run, under a time budget, with its own report.

The checks run in a fixed order, cheapest and most basic first, the ImageNet timing grids
last (the ones a short budget gives up): the environment, the runner's timer, the process
group, pinned-memory loaders, the CIFAR timing grids, every method trained with AMP, a
torchrun run, the ImageNet timing grids. A check that raises fails with the error and the
next one runs. The budget guard starts a check only when its estimate fits the time left
(keeping ``RESERVE_S`` for the summary), else marks it ``not run (budget)``; a CUDA-only
check on the CPU is ``not run (no CUDA)``. The report files are rewritten after every check,
and at the end one MLflow run of experiment ``gpu-check`` holds the statuses, the headline
figures and both files; the training runs (in experiment ``builtin``, where the runner logs)
are tagged ``gpu_check_run`` with its id.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.acceptance.gpu_report import FAIL, NOT_RUN, PASS, Outcome, Report, write
from benchmarks.errors import UserError

if TYPE_CHECKING:
    import torch

EXPERIMENT = "gpu-check"
"""The MLflow experiment of the summary runs."""
RESERVE_S = 15.0
"""Seconds the budget keeps for the summary run and the report after the last check."""
DEVICES = ("cuda", "cpu")

Verdict = tuple[str, str, dict]


@dataclass(frozen=True)
class Step:
    """One check: its name, what it tries, its estimated seconds (on the plan's device and
    scale) and the function that runs it."""

    name: str
    title: str
    estimate_s: float
    run: Callable[[], Verdict]
    cuda_only: bool = False


def resolve_device(name: str) -> torch.device:
    """The device ``--device`` names. ``cuda`` without CUDA is a UserError, never a silent CPU
    run; ``cpu`` hides any GPU from this process and its children (the runner picks CUDA
    whenever it sees one)."""
    if name not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, got {name!r}.")
    if name == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(
            "--device cuda: CUDA is not available here (torch "
            f"{torch.__version__}, built for CUDA {torch.version.cuda}). Run it on a machine "
            "with a GPU, or pass --device cpu --tiny for the CPU mode CI runs."
        )
    if name == "cpu" and torch.cuda.is_available():
        raise UserError(
            "--device cpu: this process had already started CUDA, so the runner would train on "
            "the GPU; run `comixup-bench gpu-check --device cpu` in a fresh process."
        )
    return torch.device(name)


def plan(device: torch.device, tiny: bool, progress: bool, budget_left: Callable[[], float]):
    """The steps, in order, for ``device`` at full or ``tiny`` scale."""
    from benchmarks.acceptance import device_checks, timing_checks, training_checks
    from benchmarks.acceptance.device_info import device_info
    from benchmarks.methods import METHOD_NAMES

    cuda = device.type == "cuda"
    small = tiny or not cuda
    grids = {grid.name: grid for grid in timing_checks.grids(device, tiny)}

    def grid_step(name: str, estimate: float) -> Step:
        grid = grids[name]
        run = lambda: timing_checks.check_grid(grid, device, METHOD_NAMES, progress)  # noqa: E731
        return Step(name, grid.title, estimate, run)

    def environment() -> Verdict:
        info = device_info(device)
        if cuda and info["cuDNN"] == "none":
            return FAIL, "CUDA device without cuDNN", info
        return PASS, info["device"], info

    def torchrun() -> Verdict:
        timeout = max(budget_left(), 30.0)
        return training_checks.check_torchrun(device, tiny, "comixup", timeout)

    return [
        Step("environment", "device, CUDA, cuDNN, torch, driver, CPU", 0.0, environment),
        Step("timer", "per-batch timer against a synchronised wall clock", 5.0,
             lambda: timing_checks.check_timer(device)),
        Step("process-group", "the runner's torchrun backend (NCCL on CUDA, gloo on CPU)", 10.0,
             lambda: device_checks.check_process_group(device)),
        Step("pinned-memory", "pinned-memory loaders and their copy to the GPU", 10.0,
             lambda: device_checks.check_pinned_memory(device), cuda_only=True),
        grid_step("timing-cifar100-fp32", 10.0 if small else 40.0),
        grid_step("timing-cifar100-amp", 10.0 if small else 40.0),
        Step("training", f"every method, {training_checks.EPOCHS} epochs with AMP, through "
             "the runner into MLflow", 45.0 if small else 120.0,
             lambda: training_checks.check_training(device, tiny, METHOD_NAMES, progress)),
        Step("torchrun", "one 1-process torchrun training through the command line",
             30.0 if small else 60.0, torchrun),
        grid_step("timing-imagenet-fp32", 10.0 if small else 60.0),
        grid_step("timing-imagenet-amp", 25.0 if small else 60.0),
    ]  # fmt: skip


def run_steps(
    steps: list[Step],
    report: Report,
    *,
    budget_s: float,
    cuda: bool,
    clock: Callable[[], float] = time.monotonic,
    after_each: Callable[[Report], None] = lambda report: None,
    echo: Callable[[str], None] = lambda line: None,
) -> Report:
    """Run ``steps`` in order into ``report`` under the budget guard (module docstring)."""
    started = clock()
    for step in steps:
        elapsed = clock() - started
        left = budget_s - RESERVE_S - elapsed
        if step.cuda_only and not cuda:
            outcome = Outcome(step.name, step.title, f"{NOT_RUN} (no CUDA)",
                              "a CUDA-only path with no CPU analogue")  # fmt: skip
        elif step.estimate_s > left:
            outcome = Outcome(
                step.name, step.title, f"{NOT_RUN} (budget)",
                f"needs about {step.estimate_s:.0f} s, {max(left, 0):.0f} s of --budget-s "
                f"{budget_s:.0f} left",
            )  # fmt: skip
        else:
            outcome = _run_one(step, clock)
        report.outcomes.append(outcome)
        report.elapsed_s = clock() - started
        echo(f"{outcome.status:<17} {step.name} ({outcome.seconds:.1f} s): {outcome.reason}")
        after_each(report)
    return report


def _run_one(step: Step, clock: Callable[[], float]) -> Outcome:
    begun = clock()
    try:
        status, reason, figures = step.run()
    except Exception as error:  # a check that raises is a failed check
        status, reason, figures = FAIL, f"{type(error).__name__}: {error}", {}
    return Outcome(step.name, step.title, status, reason, clock() - begun, figures)


def _headline(report: Report) -> dict[str, float]:
    """The figures the summary run logs as metrics: each grid's ratios and Co-Mixup's solver
    share, each check's seconds."""
    metrics = {"elapsed_s": report.elapsed_s}
    for outcome in report.outcomes:
        metrics[f"{outcome.name}.seconds"] = outcome.seconds
        for row in outcome.figures.get("ratios", []):
            if isinstance(row.get("measured"), float):
                key = row["ratio"].replace("/", "_over_")
                metrics[f"{outcome.name}.{key}"] = row["measured"]
        share = outcome.figures.get("Co-Mixup solver share of its step (mixing phase)")
        if isinstance(share, float):
            metrics[f"{outcome.name}.comixup_solver_share"] = share
    return {key: value for key, value in metrics.items() if value == value}


def _training_runs(report: Report) -> list[str]:
    return [
        row["MLflow run"]
        for outcome in report.outcomes
        for row in outcome.figures.get("runs", [])
        if row.get("MLflow run")
    ]


def _log_summary(report: Report, device: torch.device, out: Path) -> None:
    """The summary MLflow run: settings, statuses, headline figures, the report files; then
    the training runs are tagged with its id."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from benchmarks.runner.tracking import environment_tags, start_run

    name = f"gpu-check-{device.type}" + ("-tiny" if report.settings["tiny"] else "")
    statuses = {f"check.{o.name}": o.status for o in report.outcomes}
    tags = environment_tags(device) | statuses | {"passed": str(report.passed)}
    with start_run(EXPERIMENT, run_name=name, tags=tags) as active:
        report.mlflow_run = active.info.run_id
        mlflow.log_params({key: str(value) for key, value in report.settings.items()})
        mlflow.log_metrics(_headline(report))
        for path in write(report, out):
            mlflow.log_artifact(str(path))
    client = MlflowClient()
    for run_id in _training_runs(report):
        client.set_tag(run_id, "gpu_check_run", report.mlflow_run)


def gpu_check(
    device_name: str,
    *,
    tiny: bool = False,
    out: Path = Path("reports"),
    budget_s: float = 480.0,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> tuple[Report, tuple[Path, Path]]:
    """Run every check on ``device_name`` (``cuda`` or ``cpu``), write ``<out>/gpu-check.md``
    and ``.json``, log the summary run; returns the report and the two paths."""
    device = resolve_device(device_name)
    from benchmarks.runner.tracking import setup_tracking

    setup_tracking(EXPERIMENT)  # an unreachable store fails now, before any check
    started = time.monotonic()
    settings = {"device": device.type, "tiny": tiny, "budget_s": budget_s}
    report = Report(settings, {}, [])

    def budget_left() -> float:
        return budget_s - RESERVE_S - (time.monotonic() - started)

    def after_each(current: Report) -> None:
        first = current.outcomes[0]
        if first.name == "environment" and first.figures:  # shown once, as the environment
            current.environment, first.figures = first.figures, {}
        write(current, out)

    steps = plan(device, tiny, progress, budget_left)
    run_steps(steps, report, budget_s=budget_s, cuda=device.type == "cuda",
              after_each=after_each, echo=echo)  # fmt: skip
    report.finished = True
    report.elapsed_s = time.monotonic() - started
    _log_summary(report, device, out)
    return report, write(report, out)
