"""The final test-set predictions a run keeps as the MLflow artifact ``predictions.npz``, so that
calibration (supplement Table 6, Figures 3-5) is recomputed from the runs without retraining.

What is kept, per test item, is the model's ``k = min(5, C)`` most probable classes with their
softmax probabilities (float32), the probability of the true class (float32) and the label:

- the expected calibration error and the reliability diagrams need only the top-1 probability
  and whether its class is the label; top-5 error and the negative log-likelihood come almost
  free from the rest, so the artifact can be checked against the logged metrics;
- the full logits would be N x C numbers: 50,000 x 1,000 per ImageNet run (100 MB in float16),
  where this is about 2 MB; CIFAR-100's 10,000 items take about 0.4 MB;
- float32, not float16: float16 is 5e-4 apart near 1, enough to move a prediction across a
  bin edge, and the ECE from the artifact then matches the logged one to float32 rounding.

Under torchrun each rank predicts its own share (items rank, rank + world_size, ...);
:func:`gather` puts the shares back in the test set's order on every rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from benchmarks.runner.distributed import Distributed

ARTIFACT = "predictions.npz"
"""The artifact's name at the root of the run's artifacts."""

TOP_K = 5
"""Classes kept per item (fewer when the set has fewer classes)."""

FORMAT = 1
"""Stored in the file; a later layout raises it so that old artifacts are read as what they are."""


@dataclass(frozen=True)
class Predictions:
    """A model's predictions on a test set (or one rank's share of it)."""

    top_classes: np.ndarray
    """(N, k) class indices, most probable first."""
    top_probabilities: np.ndarray
    """(N, k) float32 softmax probabilities of ``top_classes``."""
    label_probability: np.ndarray
    """(N,) float32 probability of the true class."""
    labels: np.ndarray
    """(N,) true classes."""
    num_classes: int

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def confidence(self) -> np.ndarray:
        """The top-1 probability of each item."""
        return self.top_probabilities[:, 0]

    @property
    def correct(self) -> np.ndarray:
        """Whether each item's most probable class is its label."""
        return self.top_classes[:, 0] == self.labels


def class_dtype(num_classes: int) -> np.dtype:
    return np.dtype(np.int16 if num_classes <= np.iinfo(np.int16).max else np.int32)


def from_logits(logits: torch.Tensor, labels: torch.Tensor, top_k: int = TOP_K) -> Predictions:
    """The kept part of a batch of logits (B, C), softmax taken in float32."""
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (B, C) and labels (B,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}; flatten any extra dimensions first."
        )
    num_classes = logits.shape[1]
    probabilities = logits.float().softmax(dim=1)
    top = probabilities.topk(min(top_k, num_classes), dim=1)
    dtype = class_dtype(num_classes)
    return Predictions(
        top_classes=top.indices.cpu().numpy().astype(dtype),
        top_probabilities=top.values.cpu().numpy().astype(np.float32),
        label_probability=probabilities.gather(1, labels.long()[:, None])[:, 0].cpu().numpy(),
        labels=labels.cpu().numpy().astype(dtype),
        num_classes=num_classes,
    )


def concatenate(parts: list[Predictions]) -> Predictions:
    """The parts one after the other (a set's batches in order)."""
    if not parts:
        raise ValueError("no predictions to concatenate: the evaluation saw no batch.")
    return Predictions(
        top_classes=np.concatenate([p.top_classes for p in parts]),
        top_probabilities=np.concatenate([p.top_probabilities for p in parts]),
        label_probability=np.concatenate([p.label_probability for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        num_classes=parts[0].num_classes,
    )


def take(predictions: Predictions, order: np.ndarray) -> Predictions:
    return Predictions(
        top_classes=predictions.top_classes[order],
        top_probabilities=predictions.top_probabilities[order],
        label_probability=predictions.label_probability[order],
        labels=predictions.labels[order],
        num_classes=predictions.num_classes,
    )


def interleave(shares: list[Predictions]) -> Predictions:
    """The ranks' shares (rank r holds items r, r + W, r + 2W, ... of the set, as
    ``benchmarks.runner.distributed.shard`` gives them) back in the set's order."""
    world_size = len(shares)
    positions = np.concatenate(
        [rank + world_size * np.arange(len(share)) for rank, share in enumerate(shares)]
    )
    return take(concatenate(shares), np.argsort(positions, kind="stable"))


def gather(share: Predictions, world: Distributed) -> Predictions:
    """Every rank's share, in the set's order, on every rank (a collective: all ranks call it)."""
    if not world.enabled:
        return share
    shares: list[Predictions | None] = [None] * world.world_size
    dist.all_gather_object(shares, share)
    return interleave(shares)


def save(predictions: Predictions, path: Path) -> None:
    np.savez_compressed(
        path,
        format=np.int32(FORMAT),
        num_classes=np.int32(predictions.num_classes),
        top_classes=predictions.top_classes,
        top_probabilities=predictions.top_probabilities,
        label_probability=predictions.label_probability,
        labels=predictions.labels,
    )


def load(path: Path) -> Predictions:
    with np.load(path) as data:
        if int(data["format"]) != FORMAT:
            raise ValueError(
                f"{path} holds predictions in format {int(data['format'])}, this version reads "
                f"format {FORMAT}; rebuild the table with the version that made the runs."
            )
        return Predictions(
            top_classes=data["top_classes"],
            top_probabilities=data["top_probabilities"],
            label_probability=data["label_probability"],
            labels=data["labels"],
            num_classes=int(data["num_classes"]),
        )
