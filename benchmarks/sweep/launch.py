"""Launchers: run a grid of runs on this machine's processes or as a Slurm job array.

``local`` is the one local pool (:func:`run_pool`), behind both ``sweep --launcher local``
(:func:`launch_local`: :class:`benchmarks.sweep.job.SweepJob` s) and ``compare --jobs N``
(``sweep.compare``: one training run per method): ``jobs`` tasks at a time, each in a fresh
process (its own memory, and its share of the cores as torch threads: ``cores // jobs``,
measured in ``docs/design.md``: on two cores the main job takes as long either way). A signal
that stops the launcher (Ctrl-C, ``timeout``'s SIGTERM) is passed on to the runs still training,
which stop as a lone run does: KILLED, the epoch done kept, and the next launch resumes each
into the same MLflow run. ``slurm`` submits one submitit job array, whose tasks log to the
tracking server named by ``MLFLOW_TRACKING_URI`` and are requeued through submitit's
checkpointing hook when they hit their time limit or are preempted.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.runner import interrupts
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


def threads_per_job(jobs: int) -> int:
    """Each of ``jobs`` processes' share of the cores (at least one)."""
    from comixup.parallel import available_cores

    return max(1, available_cores() // jobs)


def limit_threads(threads: int) -> None:
    """Torch's intra-op threads in this process: a side-by-side run's share of the cores
    (measured: two 2-thread runs on 2 cores take about twice as long as two 1-thread runs)."""
    import torch

    torch.set_num_threads(threads)


Ended = Callable[[int, Any, BaseException | None], None]
"""Hears of a task as it ends: its index, its result (None when it failed), its error."""


def run_pool(tasks: Sequence[Callable[[], Any]], *, jobs: int, threads: int, ended: Ended) -> None:
    """Call each of ``tasks`` (picklable), ``jobs`` at a time, each in a fresh spawned
    process with ``threads`` torch threads; ``ended`` hears of each as it ends. A failing task
    lets the others run to their end. SIGINT or SIGTERM to this process is passed on to every
    task still running, which ends as its own signal handling says (the runner: KILLED, with
    its checkpoint); the pool then waits for them and raises the interruption. A task the pool
    had already handed on (the executor queues one beyond its workers) does not start."""
    context = multiprocessing.get_context("spawn")
    workers = context.SimpleQueue()  # each process's pid, to pass a signal on
    stopping = context.Value("i", 0)  # the signal that interrupted the pool, 0 until then
    with interrupts.stop_on_signals():
        pool = ProcessPoolExecutor(
            max(1, min(jobs, len(tasks))),
            mp_context=context,
            max_tasks_per_child=1,
            initializer=_start_worker,
            initargs=(threads, workers, stopping),
        )
        try:
            futures = {
                pool.submit(_unless_stopping, task): index for index, task in enumerate(tasks)
            }
            for future in as_completed(futures):
                error = future.exception()
                ended(futures[future], None if error else future.result(), error)
        except KeyboardInterrupt as interrupt:
            signum = getattr(interrupt, "signum", signal.SIGINT)
            stopping.value = signum  # before the pids are read: a later worker sees it
            _pass_on(workers, signum)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


_STOPPING = None
"""In a pool's worker: the pool's shared signal number, set once the pool is interrupted."""


def _start_worker(threads: int, workers, stopping) -> None:
    """A worker's start: its own process group (so that a terminal's Ctrl-C reaches the
    parent alone, which passes it on once), its share of the cores, its pid to the parent."""
    global _STOPPING
    os.setpgrp()
    limit_threads(threads)
    _STOPPING = stopping
    workers.put(os.getpid())


def _unless_stopping(task: Callable[[], Any]) -> Any:
    """``task()``, unless the pool was interrupted before this worker took it."""
    if _STOPPING is not None and _STOPPING.value:
        raise interrupts.RunInterrupted(_STOPPING.value)
    return task()


def _pass_on(workers, signum: int) -> None:
    """Send ``signum`` to every worker still alive (a worker that has ended is skipped)."""
    while not workers.empty():
        pid = workers.get()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


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
    """Train ``runs`` in the local pool, ``jobs`` at a time (``processes`` > 1: each under
    torchrun, the cores shared among ``jobs * processes``); ``report`` hears of each run as it
    ends (its outcome, or the error it failed with)."""
    from benchmarks.sweep.job import SweepJob

    tasks = [SweepJob(run, checkpoint_root, tracking_uri, processes) for run in runs]
    run_pool(
        tasks,
        jobs=jobs,
        threads=threads_per_job(jobs * processes),
        ended=lambda index, outcome, error: report(runs[index], outcome, error),
    )


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
