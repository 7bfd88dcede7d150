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

import numpy as np
import torch
import torch.distributed as dist

from benchmarks.prediction_file import (
    ARTIFACT,
    FORMAT,
    TOP_K,
    Predictions,
    class_dtype,
    concatenate,
    load,
    save,
    take,
)
from benchmarks.runner.distributed import Distributed

__all__ = [
    "ARTIFACT", "FORMAT", "TOP_K", "Predictions", "class_dtype", "concatenate", "from_logits",
    "gather", "interleave", "load", "save", "take",
]  # fmt: skip
"""The artifact's format lives in :mod:`benchmarks.prediction_file` (plain numpy, read by the
tables); it is named here too, so that the runner's modules say ``preds.save``."""


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
