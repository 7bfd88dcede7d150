"""Vanilla training: cross-entropy on the clean batch, no mixing (the paper's baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from comixup.batch import check_batch
from comixup.method import CLEAN_ACCURACY, top1_accuracy


@dataclass
class VanillaMethod:
    """Plain cross-entropy; labels may be class indices or soft labels."""

    num_classes: int

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        target = check_batch(x, y, num_classes=self.num_classes)
        logits = model(x)
        return F.cross_entropy(logits, target), {CLEAN_ACCURACY: top1_accuracy(logits, target)}
