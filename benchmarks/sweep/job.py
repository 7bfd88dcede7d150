"""One sweep run as a job: what a launcher executes in a worker process or a Slurm job.

:class:`SweepJob` trains its run through the runner (``benchmarks.train.train``), which resumes
from the run's checkpoint into the same MLflow run whenever one exists. It is a submitit
``Checkpointable``: on Slurm's time-limit or preemption signal, submitit calls
:meth:`SweepJob.checkpoint`, which hands back the same job to run again; the requeued job then
resumes from the last checkpoint the runner wrote (at the end of each epoch), so nothing else
needs saving in the handler.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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
    def __init__(self, run: Run, checkpoint_root: Path, tracking_uri: str) -> None:
        self.run = run
        self.checkpoint_root = Path(checkpoint_root).resolve()
        self.tracking_uri = tracking_uri

    def __call__(self) -> Outcome:
        # The MLflow run is created inside train(); the sweep's tags reach it through the
        # run-context plugin (benchmarks.sweep.tags), which reads this variable.
        os.environ[tags.ENV] = json.dumps(tags.run_tags(self.run))
        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        from benchmarks.train import train

        try:
            root = experiment_checkpoints(self.run, self.checkpoint_root)
            result = train(self.run.config, resume=True, checkpoint_root=root, progress=False)
        except Exception as error:
            record_failure(self.run, error)
            raise
        return Outcome(self.run.key, result.run_id, result.metrics)

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Run again after a requeue; train() resumes from the run's own checkpoint."""
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def experiment_checkpoints(run: Run, checkpoint_root: Path) -> Path:
    """The folder of ``run``'s checkpoint: one per sweep experiment. The runner resumes by
    config, and two experiments may train the same config (Table 7's default point is the main
    table's Co-Mixup run, the significance runs are main's): in a shared folder one
    experiment's run would continue the other's MLflow run instead of starting its own."""
    return Path(checkpoint_root).resolve() / run.experiment


def record_failure(run: Run, error: BaseException) -> None:
    """A run that failed before the runner created its MLflow run (bad data, a model that does
    not fit) still gets one, FAILED with the error, so the sweep's status shows the failure."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from benchmarks.sweep.state import TODO, run_states

    if run_states([run], MlflowClient())[0].state != TODO:
        return  # the runner created the run and recorded how it ended
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(run.config.dataset)
    mlflow.start_run(run_name=f"{run.method}-{run.config.model}-s{run.seed}")
    mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
    mlflow.end_run("FAILED")
