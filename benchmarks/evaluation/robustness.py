"""Trained runs on a clean and background-corrupted image set with boxes: classification
top-1 / top-5 error and weakly supervised localisation (supplement Section 7; the official
``comix-localization/eval.py``).

:func:`evaluate_runs` takes the selected runs (``evaluation.selection``) one by one: the model
from the shared loader (``runner.trained``), the clean, replacement and noise sets of its
training set (written once, then reused), each set evaluated with the official pipeline of
:mod:`benchmarks.evaluation.localization`. Images arrive in [0, 1] (``BoxedImages``) and are
normalised with the training set's mean and std, as the model saw them in training. Each
trained run gets one evaluation run in the MLflow experiment ``robustness``, linked by the tag
``evaluates`` (see :func:`log_evaluation`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmarks.data import dataset_spec
from benchmarks.data.boxes import BoxedImages, collate_boxes
from benchmarks.errors import UserError
from benchmarks.evaluation.localization import (
    CAM_THRESHOLD,
    IOU_THRESHOLD,
    SMOOTHING,
    localization_correct,
    localize,
)
from benchmarks.evaluation.selection import TrainedRun
from benchmarks.runner import tracking
from benchmarks.runner.checkpoint import CHECKPOINT_ROOT
from benchmarks.runner.trained import load_trained

EXPERIMENT = "robustness"
"""The MLflow experiment of the evaluation runs."""

EVALUATES = "evaluates"
"""Tag of an evaluation run: the id of the trained run it evaluates."""


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
    all_tags = tags | {
        EVALUATES: run.run_id,
        "robustness.setting": run.setting,
        "robustness.method": run.method,
        "robustness.seed": str(run.seed),
    }
    name = f"{run.method}-seed{run.seed}-eval"
    with tracking.start_run(EXPERIMENT, run_name=name, tags=all_tags) as active:
        mlflow.log_params(params)
        for name, result in results.items():
            mlflow.log_metrics(result.metrics(name) | {f"{name}_images": result.images})
        return active.info.run_id


@dataclass(frozen=True)
class Options:
    """How the runs are evaluated: where the sets come from, the CAM box threshold, the batch
    size, the images per method kept for the CAM grid, the local checkpoint folder."""

    data_dir: Path | None = None
    boxes_dir: Path | None = None
    corrupted_dir: Path | None = None
    corruption_seed: int = 0
    threshold: float = CAM_THRESHOLD
    batch_size: int = 64
    examples: int = 6
    checkpoints: Path = CHECKPOINT_ROOT


@dataclass
class Evaluation:
    """Every (run, set) evaluated: one row each (``frame``), the table's (setting, method)
    order, the CAM grid's examples by method and the class names they are drawn with."""

    frame: pd.DataFrame
    order: list[tuple[str, str]]
    examples: dict[str, list[Example]]
    classes: list[str] | None


def evaluate_runs(
    runs: Sequence[TrainedRun], options: Options, *, say: Callable[[str], None] = print
) -> Evaluation:
    """Evaluate each of ``runs`` on its training set's three sets, log one evaluation run per
    trained run, and ``say`` a line per run; the first seed of each method gives the grid's
    examples."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tags = tracking.environment_tags(device)
    rows, examples, classes, sets_by_dataset = [], {}, None, {}
    for run in runs:
        trained = load_trained(run.run_id, checkpoint_root=options.checkpoints)
        dataset = trained.dataset
        if dataset not in sets_by_dataset:
            sets_by_dataset[dataset] = corrupted_sets(
                dataset,
                options.data_dir,
                boxes_dir=options.boxes_dir,
                out_dir=options.corrupted_dir,
                seed=options.corruption_seed,
            )
        evaluation_sets = sets_by_dataset[dataset]
        clean = evaluation_sets["clean"]
        keep = [] if run.method in examples else spread_indices(options.examples, len(clean))
        results = {
            name: evaluate_set(
                trained.model,
                data,
                training_set=dataset,
                device=device,
                batch_size=options.batch_size,
                threshold=options.threshold,
                examples=keep if name == "clean" else (),
            )
            for name, data in evaluation_sets.items()
        }
        eval_id = log_evaluation(run, results, _logged_params(options, evaluation_sets), tags)
        say(f"{run.setting} {run.method} seed {run.seed}: {_summary(results)}")
        if keep:
            examples[run.method] = results["clean"].examples
            classes = clean.classes
        for name, result in results.items():
            rows.append(
                {
                    "setting": run.setting, "method": run.method, "seed": run.seed,
                    "run_id": run.run_id, "eval_run_id": eval_id, "set": name,
                    "top1_error": result.top1_error, "top5_error": result.top5_error,
                    "loc_top1": result.loc_top1, "images": result.images,
                }
            )  # fmt: skip
    order = list(dict.fromkeys((run.setting, run.method) for run in runs))
    return Evaluation(pd.DataFrame(rows), order, examples, classes)


def _logged_params(options: Options, sets: dict) -> dict[str, str]:
    return {
        "cam_threshold": str(options.threshold),
        "iou_threshold": str(IOU_THRESHOLD),
        "cam_smoothing": str(SMOOTHING),
        "corruption_seed": str(options.corruption_seed),
        **{f"set.{name}": str(data.root) for name, data in sets.items()},
    }


def _summary(results: dict[str, SetResult]) -> str:
    return ", ".join(
        f"{name} top-1 err {r.top1_error:.1f}% loc top-1 {r.loc_top1:.1f}%"
        for name, r in results.items()
    )
