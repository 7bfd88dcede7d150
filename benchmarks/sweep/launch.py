"""Launchers: run a sweep's runs on this machine's processes or as a Slurm job array.

Both execute :class:`benchmarks.sweep.job.SweepJob` s. ``local`` runs ``jobs`` at a time, each
in a fresh process (its own memory, and its share of the cores as torch threads); ``slurm``
submits one submitit job array, whose tasks log to the tracking server named by
``MLFLOW_TRACKING_URI`` and are requeued through submitit's checkpointing hook when they hit
their time limit or are preempted.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.sweep.experiments import Run

if TYPE_CHECKING:  # the job imports submitit and the runner; naming LAUNCHERS must not
    from benchmarks.sweep.job import Outcome

LAUNCHERS = ("local", "slurm")

SERVER_HINT = (
    "start a tracking server that every node can reach, e.g. `mlflow server "
    "--backend-store-uri sqlite:///$HOME/mlflow/mlflow.db --artifacts-destination "
    "$HOME/mlflow/artifacts --host 0.0.0.0 --port 5000` on a login node, then `export "
    "MLFLOW_TRACKING_URI=http://<that host>:5000`"
)


def check_cluster_tracking(uri: str) -> None:
    """A cluster sweep needs a tracking server: compute nodes may not share this machine's
    files, and many jobs writing one SQLite file lose updates."""
    if not uri.startswith(("http://", "https://")):
        raise ValueError(
            f"--launcher slurm needs MLFLOW_TRACKING_URI to name an MLflow tracking server, "
            f"not the local store {uri!r}; {SERVER_HINT}."
        )


def slurm_minutes(text: str) -> int:
    """Slurm's time formats (MM, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS) in whole minutes."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise ValueError(f"--slurm-time expects MM, HH:MM:SS or D-HH:MM:SS, got {text!r}.")
    days, first, second, third = (int(g) if g else None for g in match.groups())
    if days is None and second is None:  # MM
        return first
    if days is None and third is None:  # MM:SS
        return first + (1 if second else 0)
    hours, minutes, seconds = first, second or 0, third or 0
    return (days or 0) * 1440 + hours * 60 + minutes + (1 if seconds else 0)


MAX_TIME_LIMITS = 50
"""How many time limits one run may reach, each followed by a requeue that resumes it, before
submitit gives up (its default, 3, would end a 300-epoch run on a cluster with short limits)."""


@dataclass
class SlurmOptions:
    """The ``--slurm-*`` options; None leaves the cluster's default."""

    partition: str | None = None
    time: str = "24:00:00"
    """Each job's time limit. Always set: submitit's own default is 5 minutes, and a run that
    outlives its limit is requeued (from its checkpoint) rather than lost."""
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    array_parallelism: int | None = None
    account: str | None = None
    setup: list[str] = field(default_factory=list)
    additional: dict[str, str] = field(default_factory=dict)

    def parameters(self) -> dict:
        """submitit ``AutoExecutor.update_parameters`` keywords."""
        chosen = {
            "slurm_partition": self.partition,
            "timeout_min": slurm_minutes(self.time),
            "gpus_per_node": self.gpus_per_node,
            "cpus_per_task": self.cpus_per_task,
            "slurm_mem": self.mem,
            "slurm_array_parallelism": self.array_parallelism,
            "slurm_account": self.account,
            "slurm_setup": list(self.setup) or None,
            "slurm_additional_parameters": dict(self.additional) or None,
        }
        return {key: value for key, value in chosen.items() if value is not None}


Report = Callable[[Run, "Outcome | None", BaseException | None], None]


def launch_local(
    runs: Sequence[Run],
    *,
    jobs: int,
    checkpoint_root: Path,
    tracking_uri: str,
    report: Report,
    processes: int = 1,
) -> None:
    """Train ``runs``, ``jobs`` at a time, each in a fresh process (``processes`` > 1: under
    torchrun); ``report`` hears of each run as it ends (its outcome, or the error it failed
    with)."""
    from benchmarks.sweep.job import SweepJob
    from benchmarks.sweep.suite import limit_threads, threads_per_job

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        jobs,
        mp_context=context,
        max_tasks_per_child=1,
        initializer=limit_threads,
        initargs=(threads_per_job(jobs * processes),),
    ) as pool:
        futures = {
            pool.submit(SweepJob(run, checkpoint_root, tracking_uri, processes)): run
            for run in runs
        }
        for future in as_completed(futures):
            error = future.exception()
            report(futures[future], None if error else future.result(), error)


def submit_slurm(
    runs: Sequence[Run],
    options: SlurmOptions,
    *,
    folder: Path,
    checkpoint_root: Path,
    tracking_uri: str,
    name: str,
    processes: int = 1,
) -> list:
    """Submit ``runs`` as one job array; the submitit jobs, in the order of ``runs``. A run
    with ``processes`` > 1 trains under torchrun inside its job, one process per GPU."""
    import submitit

    from benchmarks.sweep.job import SweepJob

    check_cluster_tracking(tracking_uri)
    executor = submitit.AutoExecutor(
        folder=Path(folder) / "%j", cluster="slurm", slurm_max_num_timeout=MAX_TIME_LIMITS
    )
    executor.update_parameters(name=name, **options.parameters())
    with executor.batch():
        submitted = [
            executor.submit(SweepJob(run, checkpoint_root, tracking_uri, processes)) for run in runs
        ]
    return submitted


ACTIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
     "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "SUSPENDED"}
)  # fmt: skip
"""Slurm job states after which the job will run (again)."""


def final_result(job, poll: float = 2.0):
    """The job's result once Slurm says it has ended. submitit takes the presence of a result
    file as the end; a requeue whose ``scontrol`` is killed by the requeue's own SIGTERM raises
    in the job's signal handler, which leaves an error file behind while Slurm runs the job
    again (and the next attempt replaces it)."""
    job.wait()
    while job.watcher.get_state(job.job_id, mode="force") in ACTIVE_STATES:
        time.sleep(poll)
    return job.result()


def wait_slurm(runs: Sequence[Run], submitted: Sequence, report: Report) -> None:
    """Block until every job of the array has ended, reporting each."""
    for run, job in zip(runs, submitted, strict=True):
        try:
            report(run, final_result(job), None)
        except Exception as error:
            report(run, None, error)
