"""Puzzle Mix's adversarial step (official ``main.py`` ``train``, ``args.adv_p > 0``).

Per batch, two coins of probability ``adv_p`` decide whether the inputs and whether their
partners get adversarial noise. If either does:

1. a random start: uniform noise in [-eps, eps] on pixel values (eps = ``adv_eps / 255``),
   clipped so that the noisy pixels stay in [0, 1];
2. the saliency pass runs on the noisy inputs (its gradient is both the saliency and the
   attack direction; with ``clean_lam`` > 0 its clean loss is on the noisy inputs too);
3. one FGSM step: ``noise + (adv_eps + 2) / 255 * sign(grad)``, clipped to [-eps, eps], then
   scaled by one uniform draw in [0, 1];
4. after the graph cut, the chosen side(s) take ``clip(pixels + noise, 0, 1)`` (a partner its
   own noise) before transport and mixing.

With ``adv_p`` = 0 nothing is drawn, so the non-adversarial draws are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines.pixels import PIXEL_LEVELS, from_pixels, to_pixels
from baselines.puzzle_mix.config import PuzzleMixConfig


@dataclass(frozen=True)
class AdversarialNoise:
    """Pixel-scale noise (B, C, H, W) and which sides of the mix receive it."""

    noise: torch.Tensor
    inputs: bool
    partners: bool


def draw_sides(config: PuzzleMixConfig, generator: torch.Generator | None) -> tuple[bool, bool]:
    """The two coins (inputs, partners); no draw at all when ``adv_p`` is 0."""
    if config.adv_p == 0:
        return False, False
    coins = torch.rand(2, generator=generator)
    return bool(coins[0] < config.adv_p), bool(coins[1] < config.adv_p)


def random_start(
    x: torch.Tensor, config: PuzzleMixConfig, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The start noise in pixel scale (clipped so pixels stay in [0, 1]) and the noisy inputs
    in input scale."""
    eps = config.adv_eps / PIXEL_LEVELS
    uniform = torch.rand(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
    pixels = to_pixels(x, config.data_mean, config.data_std)
    noisy = (pixels + (2 * uniform - 1) * eps).clamp(0, 1)
    return noisy - pixels, from_pixels(noisy, config.data_mean, config.data_std)


def attack(
    start: torch.Tensor,
    input_grad: torch.Tensor,
    config: PuzzleMixConfig,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """One FGSM step from ``start`` along ``sign(input_grad)``, clipped to the l-inf ball and
    scaled by a uniform draw (the official ``adv_mix_coef``)."""
    eps = config.adv_eps / PIXEL_LEVELS
    step = (config.adv_eps + 2) / PIXEL_LEVELS
    noise = (start + step * input_grad.sign()).clamp(-eps, eps)
    return noise * float(torch.rand((), generator=generator))


def add_noise(x: torch.Tensor, noise: torch.Tensor, config: PuzzleMixConfig) -> torch.Tensor:
    """``clip(pixels + noise, 0, 1)`` back in input scale."""
    pixels = to_pixels(x, config.data_mean, config.data_std)
    return from_pixels((pixels + noise).clamp(0, 1), config.data_mean, config.data_std)
