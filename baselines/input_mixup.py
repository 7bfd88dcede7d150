"""Input Mixup (Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk
Minimization", ICLR 2018).

Each input is blended with a partner from a random permutation, ``lam * x + (1 - lam) *
x[perm]``, with one lambda ~ Beta(alpha, alpha) per batch as in the official code (a per-sample
lambda is an option). Training loss: BCE on softmax against the mixed labels, as in the Puzzle
Mix / Co-Mixup code the paper's baselines were run with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from baselines.pairs import Pairing, draw_pairing, mix_pair_labels, mix_pair_tensors
from comixup.method import LAMBDA, MIXING_SECONDS, clock, soft_target_bce, soft_targets
from comixup.mixing import to_soft_labels


@dataclass(frozen=True)
class InputMixupConfig:
    alpha: float = 1.0
    """Beta(alpha, alpha) for lambda: 1.0 in the Puzzle Mix README's CIFAR-100 command
    (``--mixup_alpha 1.0``); 0.2 for Tiny-ImageNet (see benchmarks.methods)."""
    per_sample: bool = False
    """One lambda per sample instead of the paper's one per batch."""


def mix_with_pairing(
    x: torch.Tensor, y_soft: torch.Tensor, pairing: Pairing
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend inputs and labels with a given pairing; new tensors, x untouched."""
    return mix_pair_tensors(x, pairing), mix_pair_labels(y_soft, pairing, pairing.lam)


def input_mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = InputMixupConfig.alpha,
    num_classes: int | None = None,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input Mixup of a batch: ``(x_mixed, y_soft)``, soft labels of shape (B, num_classes)."""
    y_soft = to_soft_labels(y, num_classes, x.dtype)
    if y_soft.shape[0] != x.shape[0]:
        raise ValueError(f"batch sizes disagree: {x.shape[0]} inputs, {y_soft.shape[0]} labels.")
    pairing = draw_pairing(x.shape[0], alpha, per_sample=per_sample, generator=generator)
    return mix_with_pairing(x, y_soft.to(x.device), pairing)


@dataclass
class InputMixup:
    num_classes: int
    config: InputMixupConfig = field(default_factory=InputMixupConfig)

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        y_soft = soft_targets(y, self.num_classes, x.shape[0]).to(x.device)
        start = clock(x.device)
        pairing = draw_pairing(
            x.shape[0], self.config.alpha, per_sample=self.config.per_sample, generator=generator
        )
        x_mixed, target = mix_with_pairing(x, y_soft, pairing)
        mixed = clock(x.device)
        loss = soft_target_bce(model(x_mixed), target)
        return loss, {LAMBDA: pairing.lam.mean().item(), MIXING_SECONDS: mixed - start}
