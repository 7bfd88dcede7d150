"""Vanilla training: cross-entropy on the clean batch, no mixing (the paper's baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from comixup.method import CLEAN_ACCURACY, soft_targets, top1_accuracy


@dataclass
class Vanilla:
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
        target = soft_targets(y, self.num_classes, x.shape[0]).to(x.device)
        logits = model(x)
        return F.cross_entropy(logits, target), {CLEAN_ACCURACY: top1_accuracy(logits, target)}
