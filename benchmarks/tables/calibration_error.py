"""The expected calibration error (ECE) of a run's predictions and the reliability bins it is
made of, for supplement Table 6 and Figures 3-5.

:func:`expected_calibration_error` is torchmetrics' ``multiclass_calibration_error`` over
:data:`N_BINS` equal-width confidence bins with the l1 norm, the measure of the paper's
TensorFlow Probability reference (``tfp.stats.expected_calibration_error``). One binning detail
differs between the two libraries: a confidence of exactly 1.0 forms a bin of its own in
torchmetrics and falls in the last bin in TensorFlow Probability; :func:`tfp_ece` gives the
latter, from :func:`reliability_bins`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.prediction_file import Predictions

N_BINS = 10
"""Equal-width confidence bins, as the paper's reference computation."""


def expected_calibration_error(predictions: Predictions, n_bins: int = N_BINS) -> float:
    """The top-label ECE (a fraction) with torchmetrics, ``n_bins`` equal-width bins, l1 norm.

    torchmetrics reads only each row's largest probability and whether its column is the
    label, so the kept top-k columns stand in for all C classes: the label becomes its column
    among them, or an extra all-zero column when it is not among them.
    """
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    k = predictions.top_classes.shape[1]
    hit = predictions.top_classes == predictions.labels[:, None]
    target = np.where(hit.any(axis=1), hit.argmax(axis=1), k)
    probabilities = np.concatenate(
        [predictions.top_probabilities, np.zeros((len(predictions), 1), np.float32)], axis=1
    )
    value = multiclass_calibration_error(
        torch.from_numpy(probabilities),
        torch.from_numpy(target),
        num_classes=k + 1,
        n_bins=n_bins,
        norm="l1",
    )
    return float(value)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS
) -> pd.DataFrame:
    """Per equal-width bin [i/n, (i+1)/n) (the last one closed, as TensorFlow Probability's
    ``histogram_fixed_width_bins``): its bounds, count, mean confidence and accuracy (NaN
    when empty)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    index = np.clip(np.floor(confidence * n_bins).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=n_bins) / count
        accuracy = np.bincount(index, correct, minlength=n_bins) / count
    return pd.DataFrame(
        {
            "low": np.arange(n_bins) / n_bins,
            "high": np.arange(1, n_bins + 1) / n_bins,
            "count": count,
            "confidence": mean_confidence,
            "accuracy": accuracy,
        }
    )


def binned_ece(bins: pd.DataFrame) -> float:
    """sum over bins of (share of items) x |accuracy - mean confidence|."""
    filled = bins[bins["count"] > 0]
    weights = filled["count"] / filled["count"].sum()
    return float((weights * (filled["accuracy"] - filled["confidence"]).abs()).sum())


def tfp_ece(predictions: Predictions, n_bins: int = N_BINS) -> float:
    """The ECE with TensorFlow Probability's bins (a confidence of 1.0 in the last bin)."""
    return binned_ece(reliability_bins(predictions.confidence, predictions.correct, n_bins))
