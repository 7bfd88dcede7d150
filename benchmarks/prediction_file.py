"""The ``predictions.npz`` artifact: a run's final test-set predictions, as the runner writes
them (``benchmarks.runner.predictions``) and the calibration table reads them
(``benchmarks.tables.calibration``). Plain numpy, so that reading one needs neither torch nor
the runner.

What is kept, per test item, is the model's ``k = min(5, C)`` most probable classes with their
softmax probabilities (float32), the probability of the true class (float32) and the label;
why, in ``benchmarks.runner.predictions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
