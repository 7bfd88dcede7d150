"""Input Mixup (Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk
Minimization", ICLR 2018).

Each input is blended with a partner from a random permutation, ``lam * x + (1 - lam) *
x[perm]``, with one lambda ~ Beta(alpha, alpha) per batch as in the official code (a per-sample
lambda is an option). Training loss: BCE on softmax against the mixed labels, as in the Puzzle
Mix / Co-Mixup code the paper's baselines were run with.

    mixer = InputMixup(alpha=1.0, num_classes=100)
    x_mixed, y_soft = mixer(x, y, generator=g)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Generator, Tensor

from baselines import pairs
from comixup.batch import Mixed, MixedBatch


@dataclass(frozen=True)
class InputMixupConfig(pairs.PairingConfig):
    """Input Mixup's settings: ``alpha`` 1.0 as in the Puzzle Mix README's CIFAR-100 command
    (``--mixup_alpha 1.0``), 0.2 for Tiny-ImageNet (see benchmarks.methods)."""


class InputMixup(pairs.PairwiseMixer):
    """Input Mixup of a batch of any inputs (B, ...): ``mixer(x, y, *, generator=None) ->
    (x_mixed, y_soft)``, y_soft float32 (B, num_classes) on x's device."""

    def mix(
        self, x: torch.Tensor, y_soft: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> MixedBatch:
        pairing = self.draw_pairing(x.shape[0], generator)
        labels = pairs.mix_pair_labels(y_soft, pairing, pairing.lam)
        return MixedBatch(pairs.mix_pair_tensors(x, pairing), labels, pairing.lam)


def input_mixup(x: Tensor, y: Tensor, *, generator: Generator | None = None, **settings) -> Mixed:
    """Input Mixup of a batch, as a function: ``settings`` are InputMixup's (``alpha``,
    ``num_classes``, ``per_sample``)."""
    return InputMixup(**settings)(x, y, generator=generator)


@dataclass
class InputMixupMethod(pairs.PairwiseMixerMethod):
    """Input Mixup's training step: BCE on the softmax of the mixed batch."""

    mixer_class = InputMixup
    num_classes: int
    config: InputMixupConfig = field(default_factory=InputMixupConfig)
