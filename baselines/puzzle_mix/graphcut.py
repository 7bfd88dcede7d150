"""Puzzle Mix's mask: per pair, an alpha-beta swap over the mixing levels of each block
(official ``mixup_graph`` / ``graphcut_multi``), with integer energies through
:mod:`comixup.graphcut` and one weight per grid edge (the data smoothness)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from baselines.pixels import to_pixels
from baselines.puzzle_mix.config import PuzzleMixConfig
from baselines.puzzle_mix.geometry import Geometry, PuzzleMixParams, geometry
from comixup.graphcut import energy_scale, to_int32
from comixup.grid import block_averaging, block_index, block_starts, pool_blocks
from comixup.labeling import make_swap
from comixup.saliency import normalize_saliency

_PRIOR_EPS = 1e-8
"""Added to each level's prior probability before the log (official ``graphcut_multi``)."""
_BETA_NORMALISER = 16
"""Label smoothness is ``beta / block_num / 16`` (official ``mixup_graph``)."""


def mask_levels(n_labels: int) -> np.ndarray:
    """Weight of the first input at each label: ``1, ..., 0`` in ``n_labels`` even steps
    (label l is ``1 - l / (|L| - 1)``, the official ``1 - label / (n_labels - 1)``)."""
    return 1.0 - np.arange(n_labels) / (n_labels - 1)


def label_prior(lam: np.ndarray, n_labels: int, eta: float, n_blocks: int) -> np.ndarray:
    """Prior cost (B, |L|) of each level: ``eta / n_blocks * -log(p_l + 1e-8)``.

    ``p_l`` is the Binomial(|L| - 1, 1 - lambda) probability of l partner units, i.e.
    lambda, 1 - lambda for |L| = 2 and lambda^2, 2 lambda (1 - lambda), (1 - lambda)^2 for
    |L| = 3, as written out in the official ``graphcut_multi`` for |L| = 2, 3, 4.
    """
    units = n_labels - 1
    lam = np.asarray(lam, dtype=np.float64).reshape(-1, 1)
    partner = np.arange(n_labels)
    counts = np.array([math.comb(units, int(k)) for k in partner], dtype=np.float64)
    probability = counts * lam ** (units - partner) * (1 - lam) ** partner
    return eta * -np.log(probability + _PRIOR_EPS) / n_blocks


def pixel_scale(x: torch.Tensor, config: PuzzleMixConfig) -> torch.Tensor:
    """Inputs in pixel scale for the data smoothness: ``x * std + mean`` when given."""
    return to_pixels(x, config.data_mean, config.data_std)


def boundary_sides(
    x: torch.Tensor, block_num: int, across: int, along: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean colours on both sides of each boundary between consecutive block rows.

    The official ``neigh_penalty`` average-pools the image by ``neigh_size`` and compares the
    last pooled row of a block with the first pooled row of the next. Here the same quantities
    are taken on the pixels, so that unequal blocks work too: the ``across`` rows just above
    (below) each boundary, averaged in chunks of ``along`` columns; each block's columns are cut
    into chunks from its first column, a last shorter chunk where ``along`` does not divide the
    block. With equal blocks that ``across`` and ``along`` divide, these are the official
    pooled rows.

    Args:
        x: images (B, C, H, W) in pixel scale.
        block_num: side g of the block grid.
        across: rows on each side of a boundary (at most the smallest block height).
        along: columns per chunk along the boundary (at most the smallest block width).

    Returns:
        above, below: (B, C, g-1, K) chunk means for the K chunks of a row of blocks, and the
        (g, K) matrix that averages each block's chunks.
    """
    height, width = x.shape[-2:]
    device = x.device
    boundaries = block_starts(height, block_num, device)[1:-1]
    offsets = torch.arange(across, device=device)
    above = x[:, :, (boundaries[:, None] - across + offsets).flatten(), :]
    below = x[:, :, (boundaries[:, None] + offsets).flatten(), :]
    above = above.unflatten(2, (-1, across)).mean(3)
    below = below.unflatten(2, (-1, across)).mean(3)
    column_block = block_index(width, block_num, device)
    starts = block_starts(width, block_num, device)
    sizes = starts[1:] - starts[:-1]
    per_block = (sizes + along - 1) // along
    first = torch.cumsum(per_block, 0) - per_block
    offset = torch.arange(width, device=device) - starts[column_block]
    chunk = first[column_block] + offset // along
    n_chunks = int(per_block.sum())
    to_chunks = block_averaging(chunk, n_chunks, x.dtype)
    chunk_block = torch.repeat_interleave(torch.arange(block_num, device=device), per_block)
    to_blocks = block_averaging(chunk_block, block_num, x.dtype)
    return above @ to_chunks.T, below @ to_chunks.T, to_blocks


Sides = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""Neighbourhood means of an image batch (:func:`image_sides`): above and below each boundary
between block rows, left and right of each boundary between block columns."""


def image_sides(x: torch.Tensor, geo: Geometry) -> tuple[Sides, torch.Tensor, torch.Tensor]:
    """The neighbourhood means on both sides of every block boundary of ``x`` (B, C, H, W),
    and the chunk-to-block averaging matrices of the row and the column boundaries."""
    g = geo.block_num
    above, below, rows_to_blocks = boundary_sides(x, g, geo.neigh_rows, geo.neigh_cols)
    x_t = x.transpose(-1, -2)
    left, right, cols_to_blocks = boundary_sides(x_t, g, geo.neigh_cols, geo.neigh_rows)
    return (above, below, left, right), rows_to_blocks, cols_to_blocks


def _steps(
    first: Sides, second: Sides, rows_to_blocks: torch.Tensor, cols_to_blocks: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    vertical = (first[0] - second[1]).abs().mean(1) @ rows_to_blocks.T
    horizontal = (first[2] - second[3]).abs().mean(1) @ cols_to_blocks.T
    return vertical, horizontal.transpose(-1, -2)


def boundary_steps(
    first: torch.Tensor, second: torch.Tensor, geo: Geometry
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean absolute colour step across each block boundary (official ``neigh_penalty``).

    Args:
        first, second: images (B, C, H, W) in pixel scale; ``first`` fills the upper (left)
            block of each edge, ``second`` the lower (right) one.
        geo: the grid and the neighbourhood size.

    Returns:
        vertical (B, g-1, g) and horizontal (B, g, g-1) steps for the g-sided block grid: the
        channel mean of |last neighbourhood row (column) of a block - first one of the next|,
        averaged along the boundary (see :func:`boundary_sides`).
    """
    first_sides, rows_to_blocks, cols_to_blocks = image_sides(first, geo)
    second_sides, _, _ = image_sides(second, geo)
    return _steps(first_sides, second_sides, rows_to_blocks, cols_to_blocks)


@dataclass(frozen=True)
class CutEnergies:
    """Float energies of the per-pair graph cuts on a g-sided grid.

    ``unary`` (B, g, g, |L|) costs each level; ``vertical`` (B, g-1, g) and ``horizontal``
    (B, g, g-1) weigh ``(m_p - m_q)^2`` on the edges between vertical / horizontal neighbours.
    """

    unary: np.ndarray
    vertical: np.ndarray
    horizontal: np.ndarray


def pair_steps(
    pixels: torch.Tensor, permutation: torch.Tensor, geo: Geometry, weight: float
) -> tuple[dict, dict]:
    """``weight`` times the colour steps across each vertical and horizontal block boundary,
    for each choice of the two sides' images, keyed (upper / left, lower / right) with 0 the
    input itself and 1 its partner: (B, g-1, g) and (B, g, g-1) tensors."""
    own_sides, rows_to_blocks, cols_to_blocks = image_sides(pixels, geo)
    sides = (own_sides, tuple(side[permutation] for side in own_sides))
    steps = {
        (a, b): _steps(sides[a], sides[b], rows_to_blocks, cols_to_blocks)
        for a in (0, 1)
        for b in (0, 1)
    }
    vertical = {key: weight * value[0] for key, value in steps.items()}
    horizontal = {key: weight * value[1] for key, value in steps.items()}
    return vertical, horizontal


def split_smoothness(
    own: torch.Tensor, partner: torch.Tensor, vertical: dict, horizontal: dict, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cost of showing the input or its partner in each block, and the disagreement weight of
    each vertical and horizontal edge.

    The cost of a block is the saliency it hides plus half of each edge's data-smoothness cost
    averaged over the neighbour's choice; with the edge weights ``beta`` + the rest of the data
    smoothness, this is the official pairwise energy exactly, up to a constant.
    """
    show_own, show_partner = partner.clone(), own.clone()
    for step, axis in ((vertical, 1), (horizontal, 2)):
        head = [slice(None)] * 3
        tail = [slice(None)] * 3
        head[axis], tail[axis] = slice(None, -1), slice(1, None)
        show_own[tuple(head)] += (step[0, 1] + step[0, 0]) / 2
        show_partner[tuple(head)] += (step[1, 0] + step[1, 1]) / 2
        show_own[tuple(tail)] += (step[1, 0] + step[0, 0]) / 2
        show_partner[tuple(tail)] += (step[0, 1] + step[1, 1]) / 2
    weight_v = beta + (vertical[0, 1] + vertical[1, 0] - vertical[0, 0] - vertical[1, 1]) / 2
    weight_h = (
        beta + (horizontal[0, 1] + horizontal[1, 0] - horizontal[0, 0] - horizontal[1, 1]) / 2
    )
    return show_own, show_partner, weight_v, weight_h


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def cut_energies(
    saliency_grid: torch.Tensor,
    pixels: torch.Tensor,
    permutation: torch.Tensor,
    lam: np.ndarray,
    geo: Geometry,
    config: PuzzleMixConfig,
) -> CutEnergies:
    """Unary and edge weights of each pair's graph cut (official ``mixup_graph``).

    Args:
        saliency_grid: (B, g, g) saliency pooled to the grid and normalised to sum 1.
        pixels: (B, C, H, W) inputs in pixel scale (for the data smoothness).
        permutation: (B,) partner of each input.
        lam: (B,) lambda of each pair, for the prior.
        geo: the grids of this draw.
        config: beta, gamma, eta, n_labels.
    """
    permutation = permutation.to(pixels.device)
    saliency_grid = saliency_grid.to(pixels.device)
    own, partner = saliency_grid, saliency_grid[permutation]
    beta = config.beta / geo.block_num / _BETA_NORMALISER
    vertical, horizontal = pair_steps(pixels, permutation, geo, beta * config.gamma)
    show_own, show_partner, weight_v, weight_h = split_smoothness(
        own, partner, vertical, horizontal, beta
    )
    levels = mask_levels(config.n_labels)
    prior = label_prior(lam, config.n_labels, config.eta, geo.block_num**2)
    unary = levels * _numpy(show_own)[..., None] + (1 - levels) * _numpy(show_partner)[..., None]
    return CutEnergies(unary + prior[:, None, None, :], _numpy(weight_v), _numpy(weight_h))


def solve_masks(energies: CutEnergies, n_labels: int, backend: str = "compiled") -> np.ndarray:
    """Per-pair alpha-beta swap on integer energies: masks (B, g, g) of first-input weights.

    Each pair's energies are scaled by its own :func:`comixup.graphcut.energy_scale` and
    rounded; the pairwise table is
    ``(i - j)^2`` with the ``1 / (|L| - 1)^2`` of ``(m_i - m_j)^2`` folded into the edge weights.
    """
    batch, side = energies.unary.shape[:2]
    units = (n_labels - 1) ** 2
    weights = np.concatenate(
        [energies.vertical.reshape(batch, -1), energies.horizontal.reshape(batch, -1)], axis=1
    )
    weights = np.clip(weights, 0, None)
    unary = energies.unary.reshape(batch, side * side, n_labels)
    # An edge's energy is at most its weight: the (i - j)^2 table tops out at ``units``.
    scale = energy_scale(np.abs(unary).max(axis=(1, 2)), weights.max(axis=1, initial=0))
    unary_int = to_int32(unary * scale[:, None, None])
    weights_int = to_int32(weights * scale[:, None] / units)
    labels_ = np.arange(n_labels)
    pairwise = np.square(labels_[:, None] - labels_[None]).astype(np.intc)
    swap = make_swap(side, side, backend)
    levels = mask_levels(n_labels)
    masks = np.empty((batch, side * side))
    for i in range(batch):
        labels = swap(unary_int[i], pairwise, weights_int[i])
        masks[i] = levels[labels]
    return masks.reshape(batch, side, side)


def graph_cut_mask(
    x: torch.Tensor,
    saliency: torch.Tensor,
    params: PuzzleMixParams,
    config: PuzzleMixConfig,
) -> torch.Tensor:
    """The mask (B, g, g) of each pair: the weight of input i per block, on x's device.

    ``saliency`` is (B, H, W) at the input resolution; x (B, C, H, W) drives the data
    smoothness. A grid of side 1 gives all-ones masks (no mixing, as the official code).
    """
    geo = geometry(x.shape[-2], x.shape[-1], params.block_num, config)
    if geo.block_num == 1:
        return torch.ones(x.shape[0], 1, 1, dtype=x.dtype, device=x.device)
    saliency_grid = normalize_saliency(pool_blocks(saliency, geo.block_num))
    energies = cut_energies(
        saliency_grid,
        pixel_scale(x.detach(), config),
        params.pairing.permutation,
        params.pairing.lam.double().numpy(),
        geo,
        config,
    )
    masks = solve_masks(energies, config.n_labels, config.labeling_backend)
    return torch.from_numpy(masks).to(device=x.device, dtype=x.dtype)
