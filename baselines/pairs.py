"""Pairing of each input with a partner from a random permutation, shared by the pairwise
mixers (Input Mixup, Manifold Mixup, CutMix, Puzzle Mix): draw the permutation and the mixing
ratio lambda, then mix labels. The draws are apart from their application (torchvision v2's
``make_params`` / ``transform`` split), so a mixer is a deterministic function of them.

:class:`PairwiseMixer` is the common shape of Input Mixup and CutMix: configured once
(``alpha``, ``num_classes``, ``per_sample``, keyword-only and checked at construction), then
called on a batch, ``mixer(x, y, *, generator=None) -> (x_mixed, y_soft)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Generator, Tensor, nn

from comixup.batch import MixedBatch, check_batch, check_num_classes
from comixup.method import GradScale, MixerMethod, mixed_batch_loss, sample_beta


def check_alpha(alpha: float) -> None:
    """Beta(alpha, alpha) needs a finite alpha > 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < math.inf:
        raise ValueError(
            f"alpha must be a positive number (Beta(alpha, alpha) for lambda), got {alpha!r}; "
            "the papers use 0.2, 1.0 or 2.0."
        )


@dataclass(frozen=True)
class PairingConfig:
    """How the pairwise mixers draw lambda."""

    alpha: float = 1.0
    """Beta(alpha, alpha) for lambda (see each method's config for the official value)."""
    per_sample: bool = False
    """One lambda (and box) per sample instead of the papers' one per batch."""

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if not isinstance(self.per_sample, bool):
            raise ValueError(f"per_sample must be True or False, got {self.per_sample!r}.")


@dataclass(frozen=True)
class Pairing:
    """Output i mixes input i (weight ``lam[i]``) with input ``permutation[i]``."""

    permutation: torch.Tensor  # (B,) long, on CPU
    lam: torch.Tensor  # (B,) float32, on CPU


def draw_pairing(
    batch_size: int, alpha: float, *, per_sample: bool, generator: torch.Generator | None
) -> Pairing:
    """A random permutation and lambda ~ Beta(alpha, alpha): one per batch (the papers'
    default) or one per sample."""
    if batch_size < 1:
        raise ValueError("the batch is empty; mixing needs at least one input.")
    permutation = torch.randperm(batch_size, generator=generator)
    draws = sample_beta(alpha, batch_size if per_sample else 1, generator)
    return Pairing(permutation, draws.expand(batch_size).clone())


def mix_pair_labels(y_soft: torch.Tensor, pairing: Pairing, lam: torch.Tensor) -> torch.Tensor:
    """``lam * y + (1 - lam) * y[permutation]`` for (B, K) soft labels and a (B,) lam."""
    lam = lam.to(y_soft.device, y_soft.dtype).unsqueeze(1)
    partner = y_soft[pairing.permutation.to(y_soft.device)]
    return lam * y_soft + (1 - lam) * partner


def mix_pair_tensors(h: torch.Tensor, pairing: Pairing) -> torch.Tensor:
    """``lam * h + (1 - lam) * h[permutation]`` for any (B, ...) tensor, as a new tensor."""
    lam = pairing.lam.to(h.device, h.dtype).view(-1, *([1] * (h.ndim - 1)))
    return lam * h + (1 - lam) * h[pairing.permutation.to(h.device)]


class PairwiseMixer:
    """Base of the mixers that pair each input with a partner and draw lambda from
    Beta(alpha, alpha); a subclass implements :meth:`mix` and sets ``images``."""

    images = False
    """Whether the mixer needs a batch of images (B, C, H, W) rather than any (B, ...)."""

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        num_classes: int | None = None,
        per_sample: bool = False,
    ) -> None:
        check_num_classes(num_classes)
        self.config = PairingConfig(alpha=alpha, per_sample=per_sample)
        self.num_classes = num_classes

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(alpha={self.config.alpha}, num_classes={self.num_classes}, "
            f"per_sample={self.config.per_sample})"
        )

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixed inputs (new, x untouched) and float32 soft labels (B, K) on ``x.device``."""
        mixed = self.mix(x, self.check(x, y), generator=generator)
        return mixed.x_mixed, mixed.y_soft

    def check(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Validate a batch; its labels as float32 soft labels on x's device."""
        return check_batch(x, y, num_classes=self.num_classes, images=self.images)

    def draw_pairing(self, batch_size: int, generator: torch.Generator | None) -> Pairing:
        return draw_pairing(
            batch_size, self.config.alpha, per_sample=self.config.per_sample, generator=generator
        )

    def mix(
        self, x: torch.Tensor, y_soft: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> MixedBatch:
        """The mix of a checked batch; every draw from ``generator``."""
        raise NotImplementedError


class PairwiseMixerMethod(MixerMethod):
    """Training step of a pairwise input mixer: mix the batch with ``mixer_class`` configured
    from ``config``, then BCE on the softmax of the mixed batch (subclasses are dataclasses
    with the fields ``num_classes`` and ``config``)."""

    mixer_class: ClassVar[type[PairwiseMixer]]
    num_classes: int
    config: PairingConfig

    @property
    def mixer(self) -> PairwiseMixer:
        config = self.config
        return self.mixer_class(
            alpha=config.alpha, num_classes=self.num_classes, per_sample=config.per_sample
        )

    def mixed_loss(
        self,
        model: nn.Module,
        x: Tensor,
        y_soft: Tensor,
        generator: Generator | None,
        grad_scale: GradScale | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        del grad_scale  # one forward pass: the caller back-propagates it
        mixer = self.mixer
        return mixed_batch_loss(model, x, lambda: mixer.mix(x, y_soft, generator=generator))
