"""CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with
Localizable Features", ICCV 2019).

A box of area ``(1 - lambda)`` of the image, centred uniformly at random and clipped to the
image, is pasted from a partner input (random permutation); lambda is then corrected to the
area actually kept. The box follows the ``mixup_box`` of the Puzzle Mix code the paper's
baselines were run with: centre ~ U(0, H) x U(0, W), sides ``sqrt(1 - lambda) * H`` and
``* W``, corners clipped to the image and truncated to integers; one lambda and one box per
batch (a per-sample lambda and box is an option).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from baselines.pairs import Pairing, draw_pairing, mix_pair_labels
from comixup.method import LAMBDA, MIXING_SECONDS, clock, soft_target_bce, soft_targets
from comixup.mixing import to_soft_labels


@dataclass(frozen=True)
class CutMixConfig:
    alpha: float = 1.0
    """Beta(alpha, alpha) for lambda: 1.0 in the Puzzle Mix README's CIFAR-100 CutMix command
    (``--mixup_alpha 1.0 --box True``); 0.2 for Tiny-ImageNet (see benchmarks.methods)."""
    per_sample: bool = False
    """One lambda and box per sample instead of the paper's one per batch."""


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
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mixed images, soft labels weighted by the kept area, and that area (realised lambda)."""
    kept = boxes.kept_area(x.shape[-2], x.shape[-1])
    return paste_boxes(x, pairing, boxes), mix_pair_labels(y_soft, pairing, kept), kept


def _draw(x: torch.Tensor, config: CutMixConfig, generator: torch.Generator | None):
    pairing = draw_pairing(
        x.shape[0], config.alpha, per_sample=config.per_sample, generator=generator
    )
    boxes = draw_boxes(
        pairing.lam, x.shape[-2], x.shape[-1], per_sample=config.per_sample, generator=generator
    )
    return pairing, boxes


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = CutMixConfig.alpha,
    num_classes: int | None = None,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix of a batch of images (B, C, H, W): ``(x_mixed, y_soft)``."""
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (B, C, H, W), got {tuple(x.shape)}.")
    y_soft = to_soft_labels(y, num_classes, x.dtype)
    if y_soft.shape[0] != x.shape[0]:
        raise ValueError(f"batch sizes disagree: {x.shape[0]} inputs, {y_soft.shape[0]} labels.")
    pairing, boxes = _draw(x, CutMixConfig(alpha=alpha, per_sample=per_sample), generator)
    x_mixed, y_mixed, _ = cutmix_with_draws(x, y_soft.to(x.device), pairing, boxes)
    return x_mixed, y_mixed


@dataclass
class CutMix:
    num_classes: int
    config: CutMixConfig = field(default_factory=CutMixConfig)

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if x.ndim != 4:
            raise ValueError(f"x must be a batch of images (B, C, H, W), got {tuple(x.shape)}.")
        y_soft = soft_targets(y, self.num_classes, x.shape[0]).to(x.device)
        start = clock(x.device)
        pairing, boxes = _draw(x, self.config, generator)
        x_mixed, target, kept = cutmix_with_draws(x, y_soft, pairing, boxes)
        mixed = clock(x.device)
        loss = soft_target_bce(model(x_mixed), target)
        return loss, {LAMBDA: kept.mean().item(), MIXING_SECONDS: mixed - start}
