"""One sweep run as a job: what a launcher executes in a worker process or a Slurm job.

:class:`SweepJob` trains its run through the runner (``runner.train.train``), which resumes
from the run's checkpoint into the same MLflow run whenever one exists, and hands it the run's
sweep tags (``sweep.tags.run_tags``), which the runner sets when it creates the MLflow run. The
tags follow from the job's :class:`Run`, so a job pickled before they were an argument (its
attributes are the same) runs as it is. It is a submitit
``Checkpointable``: on Slurm's time-limit or preemption signal, submitit calls
:meth:`SweepJob.checkpoint`, which hands back the same job to run again; the requeued job then
resumes from the last checkpoint the runner wrote (at the end of each epoch), so nothing else
needs saving in the handler.

A run given several processes (``processes`` > 1: a job with several GPUs) trains under
``torchrun`` started inside the job: one process per device (``benchmarks.sweep.worker``), rank 0
logging to MLflow and handing its outcome back through a file. Requeue and cancel still act on
the job, whose processes Slurm stops together.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import submitit

from benchmarks.sweep import tags
from benchmarks.sweep.experiments import Run


@dataclass
class Outcome:
    key: str
    run_id: str
    metrics: dict[str, float]


class SweepJob(submitit.helpers.Checkpointable):
    def __init__(
        self, run: Run, checkpoint_root: Path, tracking_uri: str, processes: int = 1
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes per run must be at least 1, got {processes}.")
        self.run = run
        self.checkpoint_root = Path(checkpoint_root).resolve()
        self.tracking_uri = tracking_uri
        self.processes = processes

    def __call__(self) -> Outcome:
        # The tracking URI goes to the environment, not to mlflow: torchrun's processes
        # inherit it, and the runner's tracking.start_run reads it there.
        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        try:
            return self._train() if self.processes == 1 else self._torchrun()
        except Exception as error:
            record_failure(self.run, error)
            raise

    def _train(self) -> Outcome:
        root = experiment_checkpoints(self.run, self.checkpoint_root)
        result = _runner(self.run)(
            self.run.config,
            resume=True,
            checkpoint_root=root,
            progress=False,
            tags=tags.run_tags(self.run),
        )
        return Outcome(self.run.key, result.run_id, result.metrics)

    def _torchrun(self) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="comixup-sweep-") as folder:
            job_file, outcome_file = Path(folder, "job.pkl"), Path(folder, "outcome.json")
            job_file.write_bytes(pickle.dumps(self))
            command = [
                sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={self.processes}",
                "-m", "benchmarks.sweep.worker", str(job_file), str(outcome_file),
            ]  # fmt: skip
            returncode = _run_passing_signals_on(command)
            if returncode != 0 or not outcome_file.exists():
                raise RuntimeError(
                    f"torchrun with {self.processes} processes exited with status "
                    f"{returncode}; the ranks' errors are in this job's log."
                )
            return Outcome(**json.loads(outcome_file.read_text()))

    def train_as_rank(self, outcome_file: Path) -> None:
        """One torchrun process: train; rank 0 writes the outcome for the job."""
        outcome = self._train()
        if int(os.environ.get("RANK", "0")) == 0:
            Path(outcome_file).write_text(json.dumps(asdict(outcome)))

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Run again after a requeue; train() resumes from the run's own checkpoint."""
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def _run_passing_signals_on(command: list[str]) -> int:
    """Run ``command`` (torchrun) to its end; SIGINT or SIGTERM to this process is passed on
    to it, which stops its ranks as a lone run stops (KILLED, the checkpoint kept), and the
    interruption is raised once it has ended. (The local pool gives each job its own process
    group, so a terminal's Ctrl-C reaches the ranks only this way.)"""
    from benchmarks.runner import interrupts

    with interrupts.stop_on_signals(), subprocess.Popen(command) as process:
        try:
            return process.wait()
        except KeyboardInterrupt as interrupt:
            process.send_signal(getattr(interrupt, "signum", signal.SIGINT))
            process.wait()
            raise


def _runner(run: Run):
    """What executes ``run``: the training runner, or for a timing experiment the side-by-side
    timing of every method (same call shape, ``tags`` included; returns a run id and
    metrics)."""
    from benchmarks.sweep.experiments import get_experiment

    if get_experiment(run.experiment).kind == "timing":
        from benchmarks.runner.timing import time_run

        return time_run
    from benchmarks.runner.train import train

    return train


def experiment_checkpoints(run: Run, checkpoint_root: Path) -> Path:
    """The folder of ``run``'s checkpoint: one per sweep experiment. The runner resumes by
    config, and two experiments may train the same config (Table 7's default point is the main
    table's Co-Mixup run, the significance runs are main's): in a shared folder one
    experiment's run would continue the other's MLflow run instead of starting its own."""
    return Path(checkpoint_root).resolve() / run.experiment


def record_failure(run: Run, error: BaseException) -> None:
    """A run that failed before the runner created its MLflow run (bad data, a model that does
    not fit) still gets one, with the run's sweep tags, FAILED with the error, so the sweep's
    status shows the failure."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from benchmarks.runner import tracking
    from benchmarks.sweep.state import TODO, run_states

    if run_states([run], MlflowClient())[0].state != TODO:
        return  # the runner created the run and recorded how it ended
    name = f"{run.method}-{run.config.model}-s{run.seed}"
    tracking.start_run(run.config.dataset, run_name=name, tags=tags.run_tags(run))
    mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
    mlflow.end_run("FAILED")
