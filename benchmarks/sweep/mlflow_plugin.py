"""MLflow's run-context plugin (entry point ``mlflow.run_context_provider``): adds a sweep
run's tags (:mod:`benchmarks.sweep.tags`) to the MLflow run the runner creates. MLflow loads
this module while it initialises itself, so it imports nothing of the project beyond the tags'
names."""

from __future__ import annotations

import json
import os

from mlflow.tracking.context.abstract_context import RunContextProvider

from benchmarks.sweep.tags import ENV


class SweepTags(RunContextProvider):
    """Adds the JSON object in ``COMIXUP_SWEEP_TAGS`` to every run created while it is set."""

    def in_context(self) -> bool:
        return bool(os.environ.get(ENV))

    def tags(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in json.loads(os.environ[ENV]).items()}
