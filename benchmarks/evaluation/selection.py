"""Which trained runs the robustness evaluation takes: the runs named by id, or a sweep's
finished runs on a set with boxes (the main sweep's ImageNet / ResNet-50 at paper scale, boxed
digits at smoke scale; the datasets sweep's boxed-digits runs over seeds), in table order.

Importing it loads neither MLflow nor torch: ``comixup-bench robustness --help`` takes its
choices from :data:`EXPERIMENTS`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.errors import UserError
from benchmarks.sweep import tags as sweep_tags

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

EXPERIMENTS = ("main", "datasets")
"""The sweeps with settings on a set with boxes."""


@dataclass(frozen=True)
class TrainedRun:
    """A finished training run: where it sits in the table and its MLflow id."""

    run_id: str
    setting: str
    method: str
    seed: int


@dataclass(frozen=True)
class Selection:
    """The runs named by id (``run_ids``), else a sweep's (``experiment`` at ``scale``, seeds
    0..``seeds``-1 or the sweep's, its config ``overrides``)."""

    run_ids: Sequence[str] = ()
    experiment: str = "main"
    scale: str = "paper"
    seeds: int | None = None
    overrides: Sequence[str] = ()

    def describe(self) -> str:
        """What the tables' titles say the runs are."""
        if self.run_ids:
            return "the given runs"
        return f"the {self.experiment} sweep, {self.scale} scale"

    @property
    def smoke(self) -> bool:
        return not self.run_ids and self.scale == "smoke"


def trained_run(client: MlflowClient, run_id: str) -> TrainedRun:
    """The :class:`TrainedRun` of MLflow run ``run_id``: its sweep cell from the sweep's tags,
    or ``dataset/model`` and the method and seed from its parameters.

    Raises:
        UserError: the store has no such run.
    """
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_run(run_id)
    except MlflowException as error:
        raise UserError(
            f"the tracking store has no run {run_id}; check the id (mlflow ui) and "
            "MLFLOW_TRACKING_URI."
        ) from error
    tags, params = found.data.tags, found.data.params
    setting = tags.get(sweep_tags.SETTING) or f"{params.get('dataset')}/{params.get('model')}"
    method = tags.get(sweep_tags.METHOD) or params.get("method", "?")
    seed = int(tags.get(sweep_tags.SEED, params.get("seed", 0)))
    return TrainedRun(run_id, setting, method, seed)


def select_runs(
    selection: Selection, client: MlflowClient | None = None
) -> tuple[list[TrainedRun], str]:
    """The trained runs to evaluate, in table order, and a note naming the sweep's runs that
    are missing or unfinished.

    Raises:
        ValueError: the sweep has no setting on a set with boxes at that scale, or no finished
            run on one.
    """
    from mlflow.tracking import MlflowClient

    from benchmarks.data import BOXED_DATASETS
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.sweep_runs import finished, missing_note

    client = client or MlflowClient()
    if selection.run_ids:
        return [trained_run(client, run_id) for run_id in selection.run_ids], ""
    name, scale = selection.experiment, selection.scale
    experiment = get_experiment(name)
    boxed = [s.name for s in experiment.settings_at(scale) if s.dataset in BOXED_DATASETS]
    if not boxed:
        raise ValueError(
            f"the {name} sweep has no setting on a set with boxes ({', '.join(BOXED_DATASETS)}) "
            f"at --scale {scale}; pass --run-id of runs trained on one."
        )
    runs = expand(name, scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    states = [s for s in run_states(runs, client) if s.run.setting in boxed]
    done = finished(states)
    if done.empty:
        raise ValueError(
            f"no finished run of the {name} sweep on {', '.join(boxed)} at --scale "
            f"{scale}; train them first: comixup-bench sweep {name} --scale {scale}."
        )
    rank = {method: i for i, method in enumerate(experiment.methods)}
    done = done.sort_values(
        ["setting", "method", "seed"], key=lambda c: c.map(rank) if c.name == "method" else c
    )
    chosen = [
        TrainedRun(row.run_id, row.setting, row.method, int(row.seed)) for row in done.itertuples()
    ]
    return chosen, missing_note(states)
