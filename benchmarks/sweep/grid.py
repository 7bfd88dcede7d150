"""``comixup-bench sweep`` as one call: a named experiment's grid of runs, each run's state read
from MLflow, and every run not done launched on this machine (the local pool of
``sweep.launch``) or as one Slurm job array, each reported as it ends.

An interrupted or failed run resumes from its checkpoint into the same MLflow run; a finished
sweep launches nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.runner.checkpoint import CHECKPOINT_ROOT
from benchmarks.sweep import launch
from benchmarks.sweep.experiments import Run, expand, get_experiment
from benchmarks.sweep.job import Outcome
from benchmarks.sweep.state import DONE, run_states, status_table


@dataclass(frozen=True)
class Launch:
    """How the runs not done are launched."""

    launcher: str = "local"
    jobs: int = 1
    """local: runs at a time."""
    processes: int = 1
    """Processes per run, under torchrun inside its job (one per GPU)."""
    checkpoint_root: Path = CHECKPOINT_ROOT
    slurm: launch.SlurmOptions = field(default_factory=launch.SlurmOptions)
    slurm_folder: Path = Path("logs/slurm")
    wait: bool = False
    """slurm: wait for the array to end and report each run."""


def sweep(
    experiment: str,
    *,
    scale: str = "paper",
    seeds: int | None = None,
    overrides: Sequence[str] = (),
    show: str | None = None,
    how: Launch | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Expand ``experiment`` and launch its runs not done, as ``how`` says (default: locally,
    one at a time); with ``show`` run nothing: ``"status"`` lists every run's state,
    ``"dry-run"`` what a launch would start. The exit status: 1 when a run failed, else 0.

    Raises:
        ValueError: an unknown experiment, a bad override, a Slurm launch without a tracking
            server (the message says what to do).
    """
    from benchmarks.runner import tracking

    how = how or Launch()
    runs = expand(experiment, scale=scale, seeds=seeds, overrides=overrides)
    reads = get_experiment(experiment).runs_of_at(scale)
    if reads:
        settings = ", ".join(sorted({run.setting for run in runs}))
        say(f"{experiment} reads {reads}'s runs of its settings ({settings}): those not done "
            f"train here and are recorded as {reads}'s.")  # fmt: skip
    uri = tracking.tracking_uri()
    if how.launcher == "slurm":
        launch.check_cluster_tracking(uri)
    tracking.connect()
    states = run_states(runs)
    if show is not None:
        say(status_table(states, launching=show == "dry-run"))
        return 0
    todo = [state.run for state in states if state.state != DONE]
    if not todo:
        say(f"nothing to launch: all {len(runs)} runs of {experiment} are done.")
        return 0
    say(f"launching {len(todo)} of {len(runs)} runs of {experiment} ({how.launcher}).")
    failures: list[str] = []

    def report(run: Run, outcome: Outcome | None, error: BaseException | None) -> None:
        if error is None:
            median = outcome.metrics.get("test_top1_error_median_last10")
            error_text = "" if median is None else f", {median:.2f}%"  # a timing run has none
            say(f"done    {run.cell} seed {run.seed}: run {outcome.run_id}{error_text}")
        else:
            failures.append(run.key)
            say(f"FAILED  {run.cell} seed {run.seed}: {type(error).__name__}: {error}")

    started = time.perf_counter()
    common = {
        "checkpoint_root": how.checkpoint_root,
        "tracking_uri": uri,
        "processes": how.processes,
    }
    if how.launcher == "local":
        launch.launch_local(todo, jobs=how.jobs, report=report, **common)
    else:
        name = f"comixup-{experiment}"
        jobs = launch.submit_slurm(todo, how.slurm, folder=how.slurm_folder, name=name, **common)
        say(f"submitted Slurm job array {jobs[0].job_id.split('_')[0]} ({len(jobs)} tasks).")
        if not how.wait:
            say(f"follow it with: comixup-bench sweep {experiment} --status")
            return 0
        launch.wait_slurm(todo, jobs, report)
    say(f"{len(todo) - len(failures)} done, {len(failures)} failed, "
        f"{time.perf_counter() - started:.0f} s.")  # fmt: skip
    return 1 if failures else 0
