"""The one loader of a trained model: an MLflow training run's id -> its model, in eval mode.

The model comes from the run's ``checkpoint/last.pt`` artifact (logged when the run
finished) or, when the store has none (a store without artifacts, a run still training), from
the local checkpoint folder whose ``run.json`` names the run (``runner.checkpoint``). The
checkpoint carries the run's resolved config (``TrainConfig.to_params``), from which the model
is rebuilt; the weights are read with ``torch.load(weights_only=True)``, never a pickle.
Used by the robustness evaluation (``benchmarks.evaluation``) and the figures' saliency.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from torch import nn

from benchmarks.data import dataset_spec
from benchmarks.data.spec import DatasetSpec
from benchmarks.errors import UserError
from benchmarks.models import get_model
from benchmarks.runner import checkpoint as checkpoints
from benchmarks.runner import tracking

ARTIFACT = "checkpoint/last.pt"
"""Where a finished run's checkpoint lies among its artifacts (``tracking.log_end``)."""


@dataclass
class TrainedModel:
    """A trained run's model (eval mode, on the CPU), its config and its dataset's spec."""

    run_id: str
    model: nn.Module
    params: dict[str, str]
    """The run's resolved config as ``TrainConfig.to_params`` writes it (JSON-encoded values,
    plain strings for dataset, model and method)."""
    spec: DatasetSpec

    @property
    def dataset(self) -> str:
        return self.params["dataset"]

    def describe(self) -> str:
        """``<method> <model> on <dataset>``, for captions."""
        return f"{self.params['method']} {self.params['model']} on {self.dataset}"


def load_trained(
    run_id: str,
    *,
    client: MlflowClient | None = None,
    checkpoint_root: Path = checkpoints.CHECKPOINT_ROOT,
) -> TrainedModel:
    """The trained model of MLflow run ``run_id`` (see the module docstring).

    Raises:
        UserError: the store has no such run, or the run has no checkpoint, neither as an
            artifact nor under ``checkpoint_root``.
    """
    client = client or MlflowClient()
    if _find(client, run_id) is None:
        raise UserError(
            f"the tracking store {tracking.tracking_uri()} has no run {run_id}; check the id "
            "(`mlflow ui`, `mlflow runs list`) and MLFLOW_TRACKING_URI."
        )
    with tempfile.TemporaryDirectory() as folder:
        state = checkpoints.load(_checkpoint_file(client, run_id, Path(folder), checkpoint_root))
    params = state.config
    spec = dataset_spec(params["dataset"])
    width, stride = json.loads(params["width"]), json.loads(params["stride"])
    model = get_model(params["model"], spec.num_classes, width=width, stride=stride)
    model.load_state_dict(state.model)
    return TrainedModel(run_id, model.eval(), params, spec)


def _find(client: MlflowClient, run_id: str):
    """The run, or None when the store does not have it (or has it in its trash)."""
    try:
        run = client.get_run(run_id)
    except MlflowException:
        return None
    return run if run.info.lifecycle_stage == "active" else None


def _checkpoint_file(
    client: MlflowClient, run_id: str, folder: Path, checkpoint_root: Path
) -> Path:
    """The run's checkpoint artifact (downloaded into ``folder``), or the local checkpoint
    whose ``run.json`` names the run."""
    try:
        return Path(client.download_artifacts(run_id, ARTIFACT, str(folder)))
    except (MlflowException, OSError):
        pass
    for record in sorted(Path(checkpoint_root).glob(f"*/{checkpoints.RUN_RECORD}")):
        path = record.with_name("last.pt")
        if checkpoints.recorded_run(path).get("run_id") == run_id and path.exists():
            return path
    raise UserError(
        f"run {run_id} has no checkpoint: no '{ARTIFACT}' artifact in the tracking store and no "
        f"folder under {checkpoint_root}/ whose run.json names it. Pass a finished training run "
        "(comixup-bench sweep ... --status lists them), or the folder of its checkpoints."
    )
