"""CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with
Localizable Features", ICCV 2019).

A box of area ``(1 - lambda)`` of the image, centred uniformly at random and clipped to the
image, is pasted from a partner input (random permutation); lambda is then corrected to the
area actually kept. The box follows the ``mixup_box`` of the Puzzle Mix code the paper's
baselines were run with: centre ~ U(0, H) x U(0, W), sides ``sqrt(1 - lambda) * H`` and
``* W``, corners clipped to the image and truncated to integers; one lambda and one box per
batch (a per-sample lambda and box is an option).

    mixer = CutMix(alpha=1.0, num_classes=100)
    x_mixed, y_soft = mixer(x, y, generator=g)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Generator, Tensor

from baselines.pairs import (
    Pairing,
    PairingConfig,
    PairwiseMixer,
    PairwiseMixerMethod,
    mix_pair_labels,
)
from comixup.batch import Mixed, MixedBatch


@dataclass(frozen=True)
class CutMixConfig(PairingConfig):
    """CutMix's settings: ``alpha`` 1.0 as in the Puzzle Mix README's CIFAR-100 CutMix command
    (``--mixup_alpha 1.0 --box True``), 0.2 for Tiny-ImageNet (see benchmarks.methods);
    ``per_sample`` draws one lambda and box per sample."""


@dataclass(frozen=True)
class Boxes:
    """Pixel rows [top, bottom) and columns [left, right) of each sample's pasted box."""

    top: torch.Tensor
    bottom: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor

    def kept_area(self, height: int, width: int) -> torch.Tensor:
        """Share of each image left uncovered by its box: the realised lambda, (B,)."""
        area = (self.bottom - self.top) * (self.right - self.left)
        return 1 - area.float() / (height * width)

    def masks(self, height: int, width: int) -> torch.Tensor:
        """(B, 1, H, W) boolean masks, True inside the box."""
        rows = torch.arange(height).view(1, height, 1)
        cols = torch.arange(width).view(1, 1, width)
        inside_rows = (rows >= self.top.view(-1, 1, 1)) & (rows < self.bottom.view(-1, 1, 1))
        inside_cols = (cols >= self.left.view(-1, 1, 1)) & (cols < self.right.view(-1, 1, 1))
        return (inside_rows & inside_cols).unsqueeze(1)


def draw_boxes(
    lam: torch.Tensor,
    height: int,
    width: int,
    *,
    per_sample: bool,
    generator: torch.Generator | None,
) -> Boxes:
    """Boxes of nominal area ``1 - lam`` with uniformly random centres, clipped to the image."""
    n_centres = lam.shape[0] if per_sample else 1
    centre_row = (torch.rand(n_centres, generator=generator) * height).expand(lam.shape[0])
    centre_col = (torch.rand(n_centres, generator=generator) * width).expand(lam.shape[0])
    side = torch.sqrt(1 - lam)
    half_h, half_w = side * height / 2, side * width / 2
    # Non-negative after clamping, so .long() truncates like the official int().
    return Boxes(
        top=(centre_row - half_h).clamp(0, height).long(),
        bottom=(centre_row + half_h).clamp(0, height).long(),
        left=(centre_col - half_w).clamp(0, width).long(),
        right=(centre_col + half_w).clamp(0, width).long(),
    )


def paste_boxes(x: torch.Tensor, pairing: Pairing, boxes: Boxes) -> torch.Tensor:
    """Each image with its box filled from its partner; a new tensor, x untouched."""
    masks = boxes.masks(x.shape[-2], x.shape[-1]).to(x.device)
    return torch.where(masks, x[pairing.permutation.to(x.device)], x)


def cutmix_with_draws(
    x: torch.Tensor, y_soft: torch.Tensor, pairing: Pairing, boxes: Boxes
) -> MixedBatch:
    """Mixed images, soft labels weighted by the kept area, and that area (realised lambda)."""
    kept = boxes.kept_area(x.shape[-2], x.shape[-1])
    return MixedBatch(paste_boxes(x, pairing, boxes), mix_pair_labels(y_soft, pairing, kept), kept)


class CutMix(PairwiseMixer):
    """CutMix of a batch of images (B, C, H, W): ``mixer(x, y, *, generator=None) ->
    (x_mixed, y_soft)``, y_soft float32 (B, num_classes) on x's device, weighted by the area
    each image keeps."""

    images = True

    def mix(
        self, x: torch.Tensor, y_soft: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> MixedBatch:
        pairing = self.draw_pairing(x.shape[0], generator)
        per_sample = self.config.per_sample
        height, width = x.shape[-2:]
        boxes = draw_boxes(pairing.lam, height, width, per_sample=per_sample, generator=generator)
        return cutmix_with_draws(x, y_soft, pairing, boxes)


def cutmix(x: Tensor, y: Tensor, *, generator: Generator | None = None, **settings) -> Mixed:
    """CutMix of a batch, as a function: ``settings`` are CutMix's (``alpha``, ``num_classes``,
    ``per_sample``)."""
    return CutMix(**settings)(x, y, generator=generator)


@dataclass
class CutMixMethod(PairwiseMixerMethod):
    """CutMix's training step: BCE on the softmax of the mixed batch."""

    mixer_class = CutMix
    num_classes: int
    config: CutMixConfig = field(default_factory=CutMixConfig)
