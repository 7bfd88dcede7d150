"""Vanilla training: no mixing, the same loss as the mixers (the paper's baseline).

Both official training scripts train the vanilla network with the mixers' loss, binary
cross-entropy between softmax(output) and the one-hot target, at the same learning rate
(snu-mllab/PuzzleMix ``main.py``, ``args.train == 'vanilla'``: ``bce_loss(softmax(output),
reweighted_target)``; snu-mllab/Co-Mixup ``main.py``, ``not args.comix``: ``bce_loss(softmax
(output), target_reweighted)``). Cross-entropy would give gradients about ``num_classes`` times
larger at the same learning rate, so the vanilla row of every table depends on this choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from comixup.batch import check_batch
from comixup.method import CLEAN_ACCURACY, GradScale, soft_target_bce, top1_accuracy


@dataclass
class VanillaMethod:
    """BCE between softmax(output) and the (one-hot or soft) target, on the clean batch."""

    num_classes: int

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        grad_scale: GradScale | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        del grad_scale  # every pass of this step is back-propagated by the caller
        target = check_batch(x, y, num_classes=self.num_classes)
        logits = model(x)
        return soft_target_bce(logits, target), {CLEAN_ACCURACY: top1_accuracy(logits, target)}
