"""The tags that tie an MLflow run to its place in a sweep, set when the run is created.

The sweep's job (``sweep.job.SweepJob``) passes :func:`run_tags` to the runner as its ``tags``
argument (``runner.train.train(config, tags=...)``), which sets them at the run's creation
(``runner.tracking.start_run``), before anything can fail. A resumed run keeps the tags it was
created with.
"""

from __future__ import annotations

KEY = "sweep.key"
EXPERIMENT = "sweep.experiment"
SCALE = "sweep.scale"
SETTING = "sweep.setting"
METHOD = "sweep.method"
SEED = "sweep.seed"


def run_tags(run) -> dict[str, str]:
    """The tags of a :class:`benchmarks.sweep.experiments.Run`."""
    return {
        KEY: run.key,
        EXPERIMENT: run.experiment,
        SCALE: run.scale,
        SETTING: run.setting,
        METHOD: run.method,
        SEED: str(run.seed),
    }
