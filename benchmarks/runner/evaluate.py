"""Evaluation: top-1 / top-5 error, cross-entropy and expected calibration error of a model,
and the predictions a run keeps at its end.

The accuracies and the 10-bin ECE come from one torchmetrics ``MetricCollection``, the loss
from a ``MeanMetric``; under torchrun each rank evaluates its own share of the set
(``benchmarks.runner.distributed.shard``) and torchmetrics combines the ranks' counts, so every rank
returns the numbers of the whole set. ``predict`` walks the same batches and keeps this rank's
share of the predictions (``benchmarks.runner.predictions``).
"""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassCalibrationError

from benchmarks.runner import predictions as preds
from benchmarks.runner.distributed import Distributed, shard
from benchmarks.runner.engine import autocast


def eval_loader(dataset: Dataset, batch_size: int, workers: int, world: Distributed) -> DataLoader:
    """An in-order loader over this rank's share of ``dataset`` (all of it in one process)."""
    return DataLoader(
        shard(dataset, world),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
    )


def classification_metrics(num_classes: int) -> MetricCollection:
    """Top-1 and top-5 accuracy (micro: the share of items) and the 10-bin l1 ECE."""
    return MetricCollection(
        {
            "top1": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
            "top5": MulticlassAccuracy(num_classes, top_k=min(5, num_classes), average="micro"),
            "ece": MulticlassCalibrationError(num_classes, n_bins=10, norm="l1"),
        },
        # Grouping metrics whose states happen to match after the first batch would merge top-1
        # and top-5 whenever every top-5 hit is also a top-1 hit.
        compute_groups=False,
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    device: torch.device,
    *,
    amp: bool,
    limit: int | None,
) -> dict[str, float]:
    """``test_top1_error`` and ``test_top5_error`` (%), ``test_loss`` and ``test_ece`` over
    ``loader`` (its first ``limit`` batches when given); the caller renames them for other
    splits."""
    metrics = classification_metrics(num_classes).to(device)
    # NaN stays NaN (a diverged model shows as one), rather than being dropped with a warning.
    loss = MeanMetric(nan_strategy="disable").set_dtype(torch.float64).to(device)
    for logits, y in _logits(model, loader, device, amp=amp, limit=limit):
        # Log-probabilities: top-k ranks them as the logits (softmax would tie classes whose
        # probability underflows to 0), and the ECE, seeing values outside [0, 1], takes
        # their softmax, which is the model's probabilities.
        metrics.update(logits.log_softmax(dim=1), y)
        loss.update(F.cross_entropy(logits, y, reduction="none"))
    values = {key: value.item() for key, value in metrics.compute().items()}
    return {
        "test_top1_error": 100 * (1 - values["top1"]),
        "test_top5_error": 100 * (1 - values["top5"]),
        "test_loss": loss.compute().item(),
        "test_ece": values["ece"],
    }


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: torch.device, *, amp: bool, limit: int | None
) -> preds.Predictions:
    """The predictions on the batches ``evaluate`` sees (this rank's share under torchrun;
    ``benchmarks.runner.predictions.gather`` joins the shares)."""
    parts = [
        preds.from_logits(logits, y)
        for logits, y in _logits(model, loader, device, amp=amp, limit=limit)
    ]
    return preds.concatenate(parts)


def _logits(
    model: nn.Module, loader: DataLoader, device: torch.device, *, amp: bool, limit: int | None
):
    """(float32 logits, labels) of the first ``limit`` batches (all when None), in eval mode."""
    model.eval()
    for index, (x, y) in enumerate(loader):
        if limit is not None and index >= limit:
            break
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(x).float()
        yield logits, y


MEDIAN_WINDOW = 10
"""The paper's statistic: the median of the last 10 epochs' test error (official ``main.py``
logs the best, the last and this median; its CIFAR-100 Co-Mixup log: 80.36 / 80.19 / 80.08 %
accuracy)."""


def reported_errors(errors: list[float]) -> dict[str, float]:
    """The three statistics of a run's test top-1 error history, as the official log has them:
    the median of the last 10 epochs (the paper's), the last and the best; ``epochs_in_median``
    says how many epochs the median covers (fewer than 10 in a short run)."""
    if not errors:
        return {}
    window = errors[-MEDIAN_WINDOW:]
    return {
        "test_top1_error_median_last10": float(statistics.median(window)),
        "test_top1_error_last": float(errors[-1]),
        "test_top1_error_best": float(min(errors)),
        "epochs_in_median": float(len(window)),
    }
