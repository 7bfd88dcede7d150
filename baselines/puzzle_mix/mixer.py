"""The Puzzle Mix mixer: draws, graph cut, transport and the mixed batch.

mixer = PuzzleMix(PuzzleMixConfig(), num_classes=100)
x_mixed, y_soft = mixer(x, y, saliency=saliency, generator=g)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Generator, Tensor

from baselines.pairs import mix_pair_labels
from baselines.puzzle_mix.adversarial import AdversarialNoise, add_noise
from baselines.puzzle_mix.config import PuzzleMixConfig
from baselines.puzzle_mix.geometry import PuzzleMixParams, draw_params, geometry
from baselines.puzzle_mix.graphcut import graph_cut_mask
from baselines.puzzle_mix.transport import move_blocks, transport_sources
from comixup.batch import Mixed, SaliencyMixer
from comixup.grid import pool_blocks, upsample_blocks
from comixup.saliency import normalize_saliency


@dataclass(frozen=True)
class PuzzleMixResult:
    """Mixed inputs (B, C, H, W), soft labels (B, K), the graph-cut masks (B, g, g) and the
    realised mixing ratios (B,): the share of the pixels each input shows (the mask's mean
    when its blocks are equal)."""

    x_mixed: torch.Tensor
    y_soft: torch.Tensor
    mask: torch.Tensor
    lam: torch.Tensor


def mix_with_params(
    x: torch.Tensor,
    y_soft: torch.Tensor,
    saliency: torch.Tensor,
    params: PuzzleMixParams,
    config: PuzzleMixConfig,
    adversarial: AdversarialNoise | None = None,
) -> PuzzleMixResult:
    """Puzzle Mix of a batch for given draws: graph cut, transport, mixing (no validation).

    ``y_soft`` holds (B, K) labels; ``x`` is never modified. ``adversarial`` noise is added
    after the graph cut (which sees the clean inputs) and before transport, as officially.
    """
    height, width = x.shape[-2:]
    geo = geometry(height, width, params.block_num, config)
    permutation = params.pairing.permutation.to(x.device)
    mask = graph_cut_mask(x, saliency, params, config)
    own, partner = x, x[permutation]
    if adversarial is not None:
        noisy = add_noise(x, adversarial.noise, config)
        own = noisy if adversarial.inputs else own
        partner = noisy[permutation] if adversarial.partners else partner
    if config.transport and geo.block_num > 1:
        side = geo.transport_num
        mask_t = upsample_blocks(mask, side, side)
        saliency_t = normalize_saliency(pool_blocks(saliency.detach(), side)).to(x.device)
        own = move_blocks(own, transport_sources(mask_t, saliency_t, config.t_eps), side)
        partner_sources = transport_sources(1 - mask_t, saliency_t[permutation], config.t_eps)
        partner = move_blocks(partner, partner_sources, side)
    weight = upsample_blocks(mask, height, width).unsqueeze(1)
    x_mixed = weight * own + (1 - weight) * partner
    lam = weight.flatten(1).mean(1)
    labels = mix_pair_labels(y_soft, params.pairing, lam)
    return PuzzleMixResult(x_mixed, labels, mask, lam)


def realised_lambda(mask: torch.Tensor) -> torch.Tensor:
    """The realised mixing ratio (B,): the mean weight of the first input over the mask's
    blocks (the share of pixels when the blocks are equal; see ``PuzzleMixResult.lam``)."""
    return mask.flatten(1).mean(1)


class PuzzleMix(SaliencyMixer):
    """Puzzle Mix of a batch (Kim, Choo and Song, ICML 2020): each input mixed with a partner
    from a random permutation through a graph-cut mask, salient blocks transported into view.

    ``PuzzleMix(config, num_classes=10)(x, y, saliency=s, generator=g) -> (x_mixed, y_soft)``:

    - x: images (B, C, H, W), floating point, square or not; any B >= 1 (an input may be drawn
      as its own partner, as with the official permutation); never modified.
    - y: class indices (B,) (with ``num_classes``) or soft / one-hot labels (B, K).
    - saliency: non-negative saliency maps (B, H, W) at the input resolution.
    - generator: drives the grid side, the permutation and lambda.

    Returns new tensors (B, C, H, W) and float32 (B, K) on ``x.device``; each soft label sums
    to 1 when the input labels do and weighs only the labels of the two mixed inputs. No entry
    of ``config.block_nums`` may exceed H or W.
    """

    config_class = PuzzleMixConfig

    def check(
        self, x: torch.Tensor, y: torch.Tensor, saliency: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Validate a batch, including every grid side of ``config.block_nums`` against the
        image (so that the error does not depend on the draw); float32 soft labels on x's
        device. Non-square images and grids that do not divide them are fine."""
        y_soft = super().check(x, y, saliency)
        for block_num in self.config.block_nums:
            geometry(x.shape[-2], x.shape[-1], block_num, self.config)
        return y_soft

    def mix(
        self,
        x: Tensor,
        y_soft: Tensor,
        saliency: Tensor,
        *,
        generator: Generator | None = None,
        adversarial: AdversarialNoise | None = None,
    ) -> PuzzleMixResult:
        """The mix of a checked batch; every draw from ``generator``."""
        params = draw_params(x.shape[0], self.config, generator)
        return mix_with_params(x, y_soft, saliency, params, self.config, adversarial)


def puzzle_mix(
    x: torch.Tensor,
    y: torch.Tensor,
    saliency: torch.Tensor,
    config: PuzzleMixConfig,
    *,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> Mixed:
    """Puzzle Mix of a batch, as a function: ``PuzzleMix(config, num_classes=...)(x, y,
    saliency=..., generator=...)`` (see :class:`PuzzleMix` for the arguments)."""
    return PuzzleMix(config, num_classes=num_classes)(x, y, saliency=saliency, generator=generator)
