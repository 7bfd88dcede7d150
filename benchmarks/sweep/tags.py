"""The tags that tie an MLflow run to its place in a sweep, set when the run is created.

The runner creates its own MLflow run; the sweep hands it these tags through the environment
(:data:`ENV`), and MLflow's run-context plugin hook (``benchmarks.sweep.mlflow_plugin``, the
``mlflow.run_context_provider`` entry point in pyproject.toml) adds them to the run at its
creation, before anything can fail. A resumed run keeps the tags it was created with.
"""

from __future__ import annotations

ENV = "COMIXUP_SWEEP_TAGS"
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
