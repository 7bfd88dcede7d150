"""Trained runs on a clean and background-corrupted image set with boxes: classification
top-1 / top-5 error and weakly supervised localisation (supplement Section 7; the official
``comix-localization/eval.py``).

A trained run is found by its MLflow run id; its model comes from the run's ``checkpoint``
artifact (``checkpoint/last.pt``, logged when the run finished), or, when the store has no
artifact, from the local checkpoint folder whose ``run.json`` names the run. Images arrive in
[0, 1] (``BoxedImages``) and are normalised with the training set's mean and std, as the model
saw them in training. Every (run, set) is evaluated with the official pipeline of
:mod:`benchmarks.evaluation.localization`; each trained run gets one evaluation run in the MLflow
experiment ``robustness``, linked by the tag ``evaluates`` (see :func:`log_evaluation`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import torch
from mlflow.exceptions import MlflowException
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmarks.data import dataset_spec
from benchmarks.data.boxes import BoxedImages, collate_boxes
from benchmarks.errors import UserError
from benchmarks.evaluation.localization import (
    CAM_THRESHOLD,
    IOU_THRESHOLD,
    localization_correct,
    localize,
)
from benchmarks.models import get_model
from benchmarks.runner import checkpoint as checkpoints
from benchmarks.sweep import tags as sweep_tags

EXPERIMENT = "robustness"
"""The MLflow experiment of the evaluation runs."""

EVALUATES = "evaluates"
"""Tag of an evaluation run: the id of the trained run it evaluates."""


@dataclass(frozen=True)
class TrainedRun:
    """A finished training run: where it sits in the table and its MLflow id."""

    run_id: str
    setting: str
    method: str
    seed: int


@dataclass
class Example:
    """One image as the CAM grid shows it."""

    image: torch.Tensor  # (3, H, W) in [0, 1]
    heatmap: torch.Tensor  # (H, W) in [0, 1]
    box: torch.Tensor  # (4,)
    true_boxes: torch.Tensor  # (k, 4)
    label: int
    predicted: int
    localized: bool


@dataclass
class SetResult:
    """Errors and localisation accuracy of one model on one set (percent), and examples."""

    top1_error: float
    top5_error: float
    loc_top1: float
    images: int
    examples: list[Example] = field(default_factory=list)

    def metrics(self, name: str) -> dict[str, float]:
        return {
            f"{name}_top1_error": self.top1_error,
            f"{name}_top5_error": self.top5_error,
            f"{name}_loc_top1_accuracy": self.loc_top1,
        }


def trained_run(client, run_id: str) -> TrainedRun:
    """The :class:`TrainedRun` of MLflow run ``run_id``: its sweep cell from the sweep's tags,
    or ``dataset/model`` and the method and seed from its parameters.

    Raises:
        UserError: the store has no such run.
    """
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


def corrupted_sets(
    dataset: str,
    data_dir: Path | None,
    *,
    boxes_dir: Path | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
) -> dict[str, BoxedImages]:
    """The clean, replacement and noise versions of ``dataset``'s boxed test split, read back
    as :class:`BoxedImages`; written on first use by
    :func:`benchmarks.data.corruptions.prepare_corrupted_sets` (the folders of
    ``comixup-bench prepare-boxes``), reused afterwards."""
    from benchmarks.data.corruptions import prepare_corrupted_sets

    folders = prepare_corrupted_sets(
        dataset, data_dir, seed=seed, out_dir=out_dir, boxes_dir=boxes_dir
    )
    size = dataset_spec(dataset).image_size
    return {name: BoxedImages(folder, size) for name, folder in folders.items()}


def _checkpoint_file(run_id: str, folder: Path, checkpoint_root: Path) -> Path:
    """The run's ``checkpoint/last.pt`` artifact (downloaded into ``folder``), or the local
    checkpoint whose ``run.json`` names the run."""
    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="checkpoint/last.pt", dst_path=str(folder)
            )
        )
    except (MlflowException, OSError):
        pass
    for record in sorted(checkpoint_root.glob(f"*/{checkpoints.RUN_RECORD}")):
        path = record.with_name("last.pt")
        if checkpoints.recorded_run(path).get("run_id") == run_id and path.exists():
            return path
    raise UserError(
        f"run {run_id} has no checkpoint: no 'checkpoint/last.pt' artifact in the tracking "
        f"store and no folder under {checkpoint_root}/ whose run.json names it. Evaluate "
        "finished runs only (comixup-bench sweep ... --status), or pass --checkpoints DIR."
    )


def _param(params: dict[str, str], key: str):
    value = params[key]
    return value if key in ("dataset", "model") else json.loads(value)


def load_model(run_id: str, *, checkpoint_root: Path) -> tuple[nn.Module, dict[str, str]]:
    """The trained model of MLflow run ``run_id`` (eval mode, on the CPU) and its config's
    parameters (``TrainConfig.to_params``, as the checkpoint stores them)."""
    with tempfile.TemporaryDirectory() as folder:
        state = checkpoints.load(_checkpoint_file(run_id, Path(folder), checkpoint_root))
    params = state.config
    spec = dataset_spec(params["dataset"])
    model = get_model(
        params["model"],
        spec.num_classes,
        width=_param(params, "width"),
        stride=_param(params, "stride"),
    )
    model.load_state_dict(state.model)
    return model.eval(), params


def normalizer(dataset: str, device: torch.device):
    """The training set's normalisation of [0, 1] images, on ``device``."""
    spec = dataset_spec(dataset)
    mean = torch.tensor(spec.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, device=device).view(1, -1, 1, 1)
    return lambda images: (images - mean) / std


@torch.no_grad()
def evaluate_set(
    model: nn.Module,
    dataset: Dataset,
    *,
    training_set: str,
    device: torch.device,
    batch_size: int = 64,
    threshold: float = CAM_THRESHOLD,
    iou_threshold: float = IOU_THRESHOLD,
    examples: Sequence[int] = (),
) -> SetResult:
    """Top-1 / top-5 error and localisation top-1 accuracy (%) of ``model`` on ``dataset``
    (``BoxedImages`` items: image in [0, 1], label, boxes), normalised as ``training_set``
    was; the images at the indices ``examples`` are kept for the CAM grid."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_boxes)
    normalize = normalizer(training_set, device)
    model = model.to(device).eval()
    top1 = top5 = localized = seen = 0
    wanted = set(examples)
    kept: list[Example] = []
    for images, labels, true_boxes in loader:
        logits, maps, boxes = localize(model, normalize(images.to(device)), threshold=threshold)
        logits, maps, labels = logits.cpu(), maps.cpu(), labels.cpu()
        # The top-1 class is the CAM's class (argmax), also where logits tie.
        predicted = logits.argmax(dim=1)
        ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices
        top1 += int((predicted == labels).sum())
        top5 += int(((ranked == labels[:, None]).any(dim=1) | (predicted == labels)).sum())
        correct = localization_correct(
            logits, labels, boxes, true_boxes, iou_threshold=iou_threshold
        )
        localized += int(correct.sum())
        for i in (i for i in range(len(images)) if seen + i in wanted):
            kept.append(
                Example(
                    images[i], maps[i], boxes[i], true_boxes[i], int(labels[i]),
                    int(predicted[i]), bool(correct[i]),
                )
            )  # fmt: skip
        seen += len(images)
    if seen == 0:
        raise UserError("the evaluation set has no images; rebuild it (see --data-dir).")
    return SetResult(
        100 * (1 - top1 / seen), 100 * (1 - top5 / seen), 100 * localized / seen, seen, kept
    )


def spread_indices(count: int, size: int) -> list[int]:
    """``count`` indices spread evenly over a set of ``size`` images (the sets are sorted by
    class, so the CAM grid shows several classes rather than the first one's images)."""
    if count <= 0 or size <= 0:
        return []
    count = min(count, size)
    return sorted({round(i * (size - 1) / max(count - 1, 1)) for i in range(count)})


def log_evaluation(
    run: TrainedRun, results: dict[str, SetResult], params: dict[str, str], tags: dict[str, str]
) -> str:
    """One MLflow run in experiment :data:`EXPERIMENT` holding the evaluation of ``run``:
    tagged ``evaluates=<trained run id>`` and with its cell (``robustness.setting``,
    ``.method``, ``.seed``), ``params`` (threshold, data, sets) and every set's metrics.

    A separate run rather than metrics added to the trained run: the trained run stays as
    training left it (FINISHED, its metrics those of training, which the sweep and the tables
    read), an evaluation with other data or another threshold is a run of its own with its
    own provenance (commit, device), and the tag links the two both ways in MLflow's search.
    """
    mlflow.set_experiment(EXPERIMENT)
    all_tags = tags | {
        EVALUATES: run.run_id,
        "robustness.setting": run.setting,
        "robustness.method": run.method,
        "robustness.seed": str(run.seed),
    }
    with mlflow.start_run(run_name=f"{run.method}-seed{run.seed}-eval", tags=all_tags) as active:
        mlflow.log_params(params)
        for name, result in results.items():
            mlflow.log_metrics(result.metrics(name) | {f"{name}_images": result.images})
        return active.info.run_id
