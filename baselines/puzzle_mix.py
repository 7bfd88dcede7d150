"""Puzzle Mix (Kim, Choo and Song, "Puzzle Mix: Exploiting Saliency and Local Statistics for
Optimal Mixup", ICML 2020).

Each input i is mixed with a partner ``perm[i]`` from a random permutation through a block mask
over a ``block_num x block_num`` grid, and each of the two images first moves its salient blocks
into the region where the mask shows it:

1. draws (official ``mixup.mixup_process``): the grid side ``block_num`` uniform over
   ``block_nums``, the permutation, and one lambda ~ Beta(alpha, alpha) per batch;
2. the mask (official ``mixup_graph`` / ``graphcut_multi``): per pair, |L| = ``n_labels`` mixing
   levels ``1, (|L|-2)/(|L|-1), ..., 0`` (the weight of input i) per block, found by alpha-beta
   swap (``comixup.graphcut.GridSwap``, integer energies) minimising
   - unary: the saliency each level throws away, ``m * s_partner + (1 - m) * s_i`` (saliency
     pooled to the grid, normalised to sum 1), plus the prior ``eta / n_blocks * -log(p + 1e-8)``
     with p the Binomial(|L| - 1, 1 - lambda) probability of the level's partner share;
   - pairwise, on 4-neighbour edges: ``(beta' + d_e) * (m_p - m_q)^2`` with the label smoothness
     ``beta' = beta / block_num / 16`` and the data smoothness ``d_e``: the mean absolute colour
     step across the block boundary (``neigh_size``-pixel neighbourhoods), scaled by
     ``beta' * gamma``, split exactly into a unary part and a disagreement weight as the
     official code does;
3. transport (official ``mask_transport`` / ``transport_image``): on a grid of ``t_size``-pixel
   blocks, each image's blocks are reassigned by the official iterative greedy assignment with
   cost ``t_eps * (squared grid distance / (side - 1)^2) - saliency[source] * [mask[dest] > 0]``,
   run for ``side`` rounds;
4. ``x_mixed = mask * x_i' + (1 - mask) * x_perm[i]'`` and the soft label
   ``lam_i * y_i + (1 - lam_i) * y_perm[i]`` with the realised ``lam_i`` = the mask's mean
   over the pixels.

Training step (official ``main.py`` ``train``): a clean pass whose per-sample cross-entropy,
scaled by ``2 * clean_lam / num_classes``, gives the saliency (``sqrt(mean_c grad^2)``) and is
kept as a loss term; then BCE on the softmax of the mixed batch against the soft labels.

Deviations from the official code (github.com/snu-mllab/PuzzleMix, ``mixup.py``, ``main.py``):

- The adversarial noise of "adversarial Puzzle Mix" (``--adv_p``) is not implemented; the plain
  Puzzle Mix runs of the README use none (``adv_p`` 0), and a non-zero ``adv_p`` is refused.
- Energies go to GCO as integers scaled here (up to 1e6 units per unit of cost, rounded) instead
  of pyGCO's float conversion of ``1000 * block_num^2``-scaled truncated costs, which wraps
  around int32 for blocks holding more than ~8% of the saliency at ``block_num`` 16. Edge
  weights are clipped at 0 (they are non-negative for images in [0, 1] and gamma <= 1).
- The greedy transport can leave destinations without a block, which the official code fills
  with zeros. Those destinations are hidden by the mask whenever every visible block has
  positive saliency (then the mixed image is the official one); here the unassigned blocks
  fill them (in place where possible, else in index order), so the transport is a permutation
  of blocks even in the degenerate cases (zero saliency, ``t_eps`` 0).
- All-zero saliency maps count as uniform rather than dividing by zero; any number of channels
  (the official code hard-codes 3).
- Any input shape (the official code takes square images whose side every grid divides, e.g.
  spectrograms of 160x100 here). A ``g x g`` grid cuts each side into g blocks that differ by at
  most one pixel where g does not divide it (:func:`block_index`: 100 columns in 8 blocks are
  12 or 13 wide); nothing is padded. Saliency is averaged per block, the data smoothness
  compares the ``neigh_size`` rows (columns) on each side of a boundary in ``neigh_size``-wide
  chunks that start at each block's edge (a last chunk may be narrower; ``neigh_size`` is
  capped per side at the smallest block), and the transport grid has ``g * k`` cells per side
  with ``k = smallest block side // t_size``; a cell moved into a slot one pixel larger or
  smaller is resampled to it by nearest neighbour. The soft label uses the share of pixels
  each input shows. With equal blocks and divisible ``neigh_size`` / ``t_size`` all of this is
  the official computation; where the official code raised (or failed) on a grid that does not
  divide the image, this uses unequal blocks; only a grid with more blocks than pixels per
  side is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.pairs import Pairing, draw_pairing, mix_pair_labels
from comixup.graphcut import GridSwap
from comixup.method import (
    LAMBDA,
    saliency_guided_loss,
    soft_targets,
)
from comixup.mixing import to_soft_labels
from comixup.saliency import check_saliency, normalize_saliency, pool_to_grid

_PRIOR_EPS = 1e-8
"""Added to each level's prior probability before the log (official ``graphcut_multi``)."""
_BETA_NORMALISER = 16
"""Label smoothness is ``beta / block_num / 16`` (official ``mixup_graph``)."""
_ENERGY_SCALE = 1e6
"""Integer units per unit of cost handed to GCO (the scale is lowered for larger costs)."""
_ENERGY_RANGE = 1e8
"""Largest |energy term| after conversion to GCO's int32 energies (headroom for the sums)."""


@dataclass(frozen=True)
class PuzzleMixConfig:
    """Puzzle Mix hyperparameters; defaults are the official CIFAR-100 setting.

    Sources: the official ``main.py`` argument defaults and the README's CIFAR-100 command
    ``--mixup_alpha 1.0 --graph True --n_labels 3 --eta 0.2 --beta 1.2 --gamma 0.5
    --neigh_size 4 --transport True --t_size 4 --t_eps 0.8``.
    """

    alpha: float = 1.0
    """Beta(alpha, alpha) for lambda: ``--mixup_alpha 1.0`` in the README's CIFAR-100 and
    Tiny-ImageNet commands (``main.py`` has no default)."""
    beta: float = 1.2
    """Label smoothness (``main.py --beta`` default 1.2), used as ``beta / block_num / 16``."""
    gamma: float = 0.5
    """Data local smoothness (``main.py --gamma`` default 0.5), relative to beta."""
    eta: float = 0.2
    """Weight of the lambda prior (``main.py --eta`` default 0.2), used as ``eta / n_blocks``."""
    neigh_size: int = 4
    """Pooling window (pixels) of the data smoothness (``main.py --neigh_size`` default 4),
    capped at the block size as in ``mixup_graph``."""
    n_labels: int = 3
    """Mixing levels per block |L| (``main.py --n_labels`` default 3: weights 1, 1/2, 0)."""
    transport: bool = True
    """Move salient blocks into the region the mask shows (``main.py --transport`` default)."""
    t_eps: float = 0.8
    """Weight of the distance in the transport cost (``main.py --t_eps`` default 0.8)."""
    t_size: int | None = 4
    """Transport block size in pixels, capped at the graph-cut block size: 4 in the README's
    CIFAR-100 (32x32) commands. None (or -1, ``main.py``'s default, used in the README's
    Tiny-ImageNet commands) transports at the graph cut's own resolution."""
    block_nums: tuple[int, ...] = (2, 4, 8, 16)
    """Grid sides drawn uniformly once per batch: the official ``mixup_process`` draws
    ``2 ** np.random.randint(1, 5)``, i.e. 2, 4, 8 or 16 (there is no argument for it). A side
    of 1 leaves the batch unmixed, as the official ``block_num == 1`` branch does."""
    clean_lam: float = 1.0
    """Clean-input regularisation: the clean loss is scaled ``2 * clean_lam / num_classes``
    (``main.py``). 1.0 as in the README's Tiny-ImageNet commands and the Co-Mixup comparison;
    ``main.py``'s default and the README's CIFAR-100 commands leave it at 0."""
    adv_p: float = 0.0
    """Probability of adversarial noise per input (``main.py --adv_p`` default 0; the README's
    "adversarial Puzzle Mix" uses 0.1 on CIFAR-100 and 0.15 on Tiny-ImageNet). Not implemented:
    only 0 is accepted."""
    per_sample_lambda: bool = False
    """One lambda per pair instead of the official one per batch."""
    data_mean: tuple[float, ...] | None = None
    """Per-channel mean that normalised the inputs; with ``data_std`` it is undone for the data
    smoothness term, which the official code computes on ``x * std + mean`` (pixels in [0, 1]).
    None: the inputs are already in pixel scale."""
    data_std: tuple[float, ...] | None = None
    """Per-channel standard deviation that normalised the inputs (see ``data_mean``)."""

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}.")
        for name in ("beta", "gamma", "eta", "t_eps", "clean_lam"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}.")
        if self.n_labels < 2:
            raise ValueError(
                f"n_labels must be at least 2 (input or partner), got {self.n_labels}."
            )
        if self.neigh_size < 1:
            raise ValueError(f"neigh_size must be a positive pixel count, got {self.neigh_size}.")
        if self.t_size is not None and self.t_size != -1 and self.t_size < 1:
            raise ValueError(
                f"t_size must be a positive pixel count, or None / -1 for the graph cut's "
                f"resolution; got {self.t_size}."
            )
        if not self.block_nums or any(int(n) != n or n < 1 for n in self.block_nums):
            raise ValueError(
                f"block_nums must be a non-empty tuple of positive grid sides, got "
                f"{self.block_nums}."
            )
        if self.adv_p != 0:
            raise ValueError(
                f"adversarial Puzzle Mix (adv_p = {self.adv_p}) is not implemented; use adv_p=0."
            )
        if (self.data_mean is None) != (self.data_std is None):
            raise ValueError("give data_mean and data_std together, or neither.")
        if self.data_std is not None and any(s <= 0 for s in self.data_std):
            raise ValueError(f"data_std must be positive, got {self.data_std}.")


@dataclass(frozen=True)
class Geometry:
    """Pixel layout of one draw on a ``height x width`` input: a ``block_num``-sided graph-cut
    grid, the data-smoothness neighbourhood (``neigh_rows`` x ``neigh_cols`` pixels) and a
    ``transport_num``-sided transport grid (a refinement of the graph-cut grid).

    Blocks are equal when ``block_num`` divides both sides; otherwise they differ by at most
    one pixel per side (:func:`block_index`)."""

    height: int
    width: int
    block_num: int
    neigh_rows: int
    neigh_cols: int
    transport_num: int

    @property
    def regular(self) -> bool:
        """Whether every block has the same size (the official code's only case)."""
        return self.height % self.block_num == 0 and self.width % self.block_num == 0


def geometry(height: int, width: int, block_num: int, config: PuzzleMixConfig) -> Geometry:
    """The grids for a ``height x width`` input and a graph-cut side ``block_num``.

    ``neigh_size`` and ``t_size`` are capped at the (smallest) block side, as the official
    ``mixup_graph`` caps them at the block size; the transport grid has ``block_num * k``
    cells per side with ``k = smallest block side // t_size`` (the official
    ``size // t_size`` when ``t_size`` divides the block), or ``k = 1`` for ``t_size``
    None / -1.

    Raises:
        ValueError: a grid with more blocks per side than the input has pixels.
    """
    if block_num > min(height, width):
        raise ValueError(
            f"a {block_num}x{block_num} block grid needs at least {block_num} pixels per side, "
            f"the input is {height}x{width}; drop {block_num} from block_nums."
        )
    block_rows, block_cols = height // block_num, width // block_num
    smallest = min(block_rows, block_cols)
    at_block_resolution = config.t_size is None or config.t_size == -1
    cells = 1 if at_block_resolution else max(1, smallest // config.t_size)
    return Geometry(
        height,
        width,
        block_num,
        min(config.neigh_size, block_rows),
        min(config.neigh_size, block_cols),
        block_num * cells,
    )


# --- blocks of unequal size ------------------------------------------------------------------


def block_index(length: int, blocks: int, device: torch.device | None = None) -> torch.Tensor:
    """The block (length,) of each position when ``length`` positions are cut into ``blocks``
    consecutive blocks: position p lies in block ``p * blocks // length``.

    The blocks are equal when ``blocks`` divides ``length``; otherwise their sizes are
    ``length // blocks`` or one more, the longer ones spread evenly. A grid of ``n * k`` blocks
    refines the grid of ``n`` (block ``i`` of the finer one lies in block ``i // k``).
    """
    return torch.arange(length, device=device) * blocks // length


def block_starts(length: int, blocks: int, device: torch.device | None = None) -> torch.Tensor:
    """First position of each block of :func:`block_index`, then ``length``: (blocks + 1,)."""
    index = torch.arange(blocks + 1, device=device)
    return (index * length + blocks - 1) // blocks


def _averaging(groups: torch.Tensor, n_groups: int, dtype: torch.dtype) -> torch.Tensor:
    """(n_groups, n) matrix whose row g averages the positions with ``groups == g``."""
    members = F.one_hot(groups, n_groups).T.to(dtype)
    return members / members.sum(1, keepdim=True)


def pool_blocks(saliency: torch.Tensor, side: int) -> torch.Tensor:
    """Mean saliency (B, side, side) of each block of a ``side``-sided grid over (B, H, W).

    Equal blocks are average-pooled as Co-Mixup's :func:`pool_to_grid` does; unequal ones
    (:func:`block_index`) are each averaged over their own pixels.
    """
    height, width = saliency.shape[-2:]
    if height % side == 0 and width % side == 0:
        return pool_to_grid(saliency, side)
    rows = _averaging(block_index(height, side, saliency.device), side, saliency.dtype)
    cols = _averaging(block_index(width, side, saliency.device), side, saliency.dtype)
    return torch.einsum("ih,bhw,jw->bij", rows, saliency, cols)


def upsample_mask(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest up-sampling of (B, g, g) masks to (B, height, width): each pixel takes the
    value of its block (:func:`block_index`; equal blocks when g divides both sides)."""
    side = mask.shape[-1]
    rows = block_index(height, side, mask.device)
    cols = block_index(width, side, mask.device)
    return mask[:, rows[:, None], cols[None, :]]


@dataclass(frozen=True)
class PuzzleMixParams:
    """The random draws of one call: the grid side and the pairing (permutation, lambda)."""

    block_num: int
    pairing: Pairing


def draw_params(
    batch_size: int, config: PuzzleMixConfig, generator: torch.Generator | None
) -> PuzzleMixParams:
    """Draw the grid side, the permutation and lambda, in the official order
    (``mixup_process``), all from ``generator``."""
    pick = int(torch.randint(len(config.block_nums), (1,), generator=generator))
    pairing = draw_pairing(
        batch_size, config.alpha, per_sample=config.per_sample_lambda, generator=generator
    )
    return PuzzleMixParams(int(config.block_nums[pick]), pairing)


# --- the graph cut -------------------------------------------------------------------------


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
    if config.data_mean is None or config.data_std is None:
        return x
    channels = x.shape[1]
    shape = (1, -1, 1, 1)
    mean = torch.tensor(config.data_mean, dtype=x.dtype, device=x.device)
    std = torch.tensor(config.data_std, dtype=x.dtype, device=x.device)
    if mean.numel() not in (1, channels) or std.numel() not in (1, channels):
        raise ValueError(
            f"data_mean / data_std must have 1 or {channels} entries (one per channel), got "
            f"{mean.numel()} and {std.numel()}."
        )
    return x * std.view(shape) + mean.view(shape)


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
    to_chunks = _averaging(chunk, n_chunks, x.dtype)
    chunk_block = torch.repeat_interleave(torch.arange(block_num, device=device), per_block)
    to_blocks = _averaging(chunk_block, block_num, x.dtype)
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
    own_sides, rows_to_blocks, cols_to_blocks = image_sides(pixels, geo)
    # 0: the input itself, 1: its partner
    sides = (own_sides, tuple(side[permutation] for side in own_sides))
    steps = {
        (a, b): _steps(sides[a], sides[b], rows_to_blocks, cols_to_blocks)
        for a in (0, 1)
        for b in (0, 1)
    }
    vertical = {key: beta * config.gamma * value[0] for key, value in steps.items()}
    horizontal = {key: beta * config.gamma * value[1] for key, value in steps.items()}
    # Cost of showing the input (0) or its partner (1) in a block: the saliency it hides, plus
    # half of each edge's data-smoothness cost averaged over the neighbour's choice (exact up
    # to a constant, with the disagreement weight below).
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
    levels = mask_levels(config.n_labels)
    show_own = show_own.detach().double().cpu().numpy()[..., None]
    show_partner = show_partner.detach().double().cpu().numpy()[..., None]
    prior = label_prior(lam, config.n_labels, config.eta, geo.block_num**2)
    unary = levels * show_own + (1 - levels) * show_partner + prior[:, None, None, :]
    return CutEnergies(
        unary,
        weight_v.detach().double().cpu().numpy(),
        weight_h.detach().double().cpu().numpy(),
    )


class EdgeWeightedSwap(GridSwap):
    """:class:`GridSwap` with one weight per 4-neighbour edge, given at each solve."""

    def solve(self, unary: np.ndarray, pairwise: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Labels (n_sites,) minimising ``sum unary[s, l_s] + sum_e w_e pairwise[l_p, l_q]``.

        ``weights`` (int32) follow :func:`comixup.graphcut.grid_edges`: vertical edges row by
        row, then horizontal ones.
        """
        if weights.shape != self.starts.shape:
            raise ValueError(f"expected {self.starts.size} edge weights, got {weights.shape}.")
        self.weights = np.ascontiguousarray(weights, dtype=np.intc)
        return self(unary, pairwise)


def solve_masks(energies: CutEnergies, n_labels: int) -> np.ndarray:
    """Per-pair alpha-beta swap on integer energies: masks (B, g, g) of first-input weights.

    Each pair's energies are scaled to at most ``_ENERGY_SCALE`` units per unit of cost (less
    when its largest term would pass ``_ENERGY_RANGE``) and rounded; the pairwise table is
    ``(i - j)^2`` with the ``1 / (|L| - 1)^2`` of ``(m_i - m_j)^2`` folded into the edge weights.
    """
    batch, side = energies.unary.shape[:2]
    units = (n_labels - 1) ** 2
    weights = np.concatenate(
        [energies.vertical.reshape(batch, -1), energies.horizontal.reshape(batch, -1)], axis=1
    )
    weights = np.clip(weights, 0, None)
    unary = energies.unary.reshape(batch, side * side, n_labels)
    largest = np.maximum(np.abs(unary).max(axis=(1, 2)), weights.max(axis=1, initial=0))
    scale = np.minimum(_ENERGY_SCALE, _ENERGY_RANGE / np.maximum(largest, 1e-12))
    unary_int = np.rint(unary * scale[:, None, None]).astype(np.intc)
    weights_int = np.rint(weights * scale[:, None] / units).astype(np.intc)
    labels_ = np.arange(n_labels)
    pairwise = np.square(labels_[:, None] - labels_[None]).astype(np.intc)
    swap = EdgeWeightedSwap(side, side, 0)
    levels = mask_levels(n_labels)
    masks = np.empty((batch, side * side))
    for i in range(batch):
        labels = swap.solve(np.ascontiguousarray(unary_int[i]), pairwise, weights_int[i])
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
    masks = solve_masks(energies, config.n_labels)
    return torch.from_numpy(masks).to(device=x.device, dtype=x.dtype)


def realised_lambda(mask: torch.Tensor) -> torch.Tensor:
    """The realised mixing ratio (B,): the mean weight of the first input over the mask's
    blocks (the share of pixels when the blocks are equal; see ``PuzzleMixResult.lam``)."""
    return mask.flatten(1).mean(1)


# --- the transport -------------------------------------------------------------------------


def distance_cost(side: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Squared grid distance between blocks, divided by ``(side - 1)^2``: (side^2, side^2)
    (official ``cost_matrix``; a single block costs nothing)."""
    rows, cols = torch.meshgrid(
        torch.arange(side, device=device), torch.arange(side, device=device), indexing="ij"
    )
    rows, cols = rows.flatten(), cols.flatten()
    squared = (rows[:, None] - rows[None]) ** 2 + (cols[:, None] - cols[None]) ** 2
    return squared.to(dtype) / max(side - 1, 1) ** 2


def transport_cost(mask: torch.Tensor, saliency_grid: torch.Tensor, eps: float) -> torch.Tensor:
    """Cost (B, N, N) of moving source block i to destination j (official ``mask_transport``):
    ``eps * distance(i, j) - saliency[i] * [mask[j] > 0]`` for a (B, s, s) mask and normalised
    (B, s, s) saliency, N = s^2."""
    side = mask.shape[-1]
    distance = distance_cost(side, dtype=saliency_grid.dtype, device=saliency_grid.device)
    shown = (mask > 0).to(saliency_grid.dtype).flatten(1)
    return eps * distance - saliency_grid.flatten(1)[:, :, None] * shown[:, None, :]


def _contest(claim: torch.Tensor, claimed_cost: torch.Tensor) -> torch.Tensor:
    """Which sources (B, N) win the destination they claim, as the official column resolve.

    The official code takes, per destination, the first index of the minimum over the column of
    ``plan * cost``: claimants count with their cost, every other source with 0. This computes
    the same winner from the claims alone: the first claimant at the column's minimum, or the
    first index among zero-cost claimants and non-claimants when the minimum is 0.
    """
    batch, n = claim.shape
    index = torch.arange(n, device=claim.device).expand(batch, n)
    inf = torch.full((batch, n), float("inf"), dtype=claimed_cost.dtype, device=claim.device)
    lowest = inf.scatter_reduce(1, claim, claimed_cost, "amin")
    claimants = torch.zeros_like(claim).scatter_add(1, claim, torch.ones_like(claim))
    others = claimants < n
    column_min = torch.where(others, lowest.clamp_max(0), lowest)
    at_min = claimed_cost == column_min.gather(1, claim)
    no_one = torch.full_like(claim, n)
    first_claimant = no_one.scatter_reduce(1, claim, torch.where(at_min, index, n), "amin")
    # The first source that does not claim column j: 0, unless source 0 claims j.
    first_other = torch.where(claim != claim[:, :1], index, n).amin(1, keepdim=True)
    first_non_claimant = torch.where(index == claim[:, :1], first_other, 0)
    zero_contest = others & (column_min == 0)
    winner = torch.where(
        zero_contest, torch.minimum(first_claimant, first_non_claimant), first_claimant
    )
    return winner.gather(1, claim) == index


def greedy_assignment(cost: torch.Tensor, n_iter: int) -> torch.Tensor:
    """The official iterative assignment: the destination (B, N) of each source, -1 for none.

    Each round every source claims its cheapest destination (first index of a tie); each
    destination goes to the claimant with the lowest cost, counting the sources that do not
    claim it as cost 0, so a claim wins only below 0 or as the lowest index of a tie (the first
    index of ``torch.min``, as in the official code); every losing claim costs 1 more in the
    next round. The winners of the last round are returned. Only the rows of losing sources
    change between rounds, so only their cheapest destinations are searched again.
    """
    cost = cost.clone()
    batch, n, _ = cost.shape
    flat = cost.view(batch * n, n)
    rows = torch.arange(batch * n, device=cost.device)
    claim = flat.argmin(-1)
    won = torch.ones(batch * n, dtype=torch.bool, device=cost.device)
    for _ in range(n_iter):
        lost = (~won).nonzero().squeeze(1)
        claim[lost] = flat[lost].argmin(-1)
        won = _contest(claim.view(batch, n), flat[rows, claim].view(batch, n)).flatten()
        losers = ~won
        flat[rows[losers], claim[losers]] += 1
    return torch.where(won, claim, -1).view(batch, n)


def complete_assignment(destination: torch.Tensor) -> torch.Tensor:
    """Source block (B, N) for every destination, from the destinations (B, N) of the sources
    (-1: none): the assigned source, else a source left unassigned, in place where it is free,
    else the free sources in index order to the free destinations in index order."""
    batch, n = destination.shape
    index = torch.arange(n, device=destination.device).expand(batch, n)
    assigned = destination >= 0
    slots = torch.full((batch, n + 1), -1, dtype=torch.long, device=destination.device)
    source = slots.scatter(1, torch.where(assigned, destination, n), index)[:, :n]
    free_destination = source < 0
    free_source = ~assigned
    in_place = free_destination & free_source
    source = torch.where(in_place, index, source)
    free_destination &= ~in_place
    free_source &= ~in_place
    destination_order = torch.argsort(torch.where(free_destination, index, index + n), dim=1)
    source_order = torch.argsort(torch.where(free_source, index, index + n), dim=1)
    first_n = index < free_destination.sum(1, keepdim=True)
    filled = torch.where(first_n, source_order, source.gather(1, destination_order))
    return source.scatter(1, destination_order, filled)


def transport_sources(mask: torch.Tensor, saliency_grid: torch.Tensor, eps: float) -> torch.Tensor:
    """Source block (B, N) of each destination after the transport of one image.

    Args:
        mask: (B, s, s) weight with which the image is shown per block; blocks with weight > 0
            are the destinations that count.
        saliency_grid: (B, s, s) the image's saliency pooled to the grid, normalised to sum 1.
        eps: weight of the distance (``t_eps``).
    """
    side = mask.shape[-1]
    return complete_assignment(greedy_assignment(transport_cost(mask, saliency_grid, eps), side))


def move_blocks(x: torch.Tensor, sources: torch.Tensor, side: int) -> torch.Tensor:
    """Images (B, C, H, W) rebuilt from their own ``side x side`` blocks: destination j takes
    block ``sources[:, j]`` (official ``transport_image``).

    Unequal blocks (``side`` not dividing H or W, :func:`block_index`) differ by at most one
    pixel per side; a block moved into a slot of another size is resampled to it by nearest
    neighbour (a row or column repeated or dropped), so the result is still made of the
    image's own blocks.
    """
    batch, channels, height, width = x.shape
    sources = sources.to(x.device)
    if height % side == 0 and width % side == 0:
        bh, bw = height // side, width // side
        blocks = x.reshape(batch, channels, side, bh, side, bw).permute(0, 2, 4, 1, 3, 5)
        blocks = blocks.reshape(batch, side * side, channels, bh, bw)
        index = sources.view(batch, -1, 1, 1, 1).expand_as(blocks)
        moved = blocks.gather(1, index).reshape(batch, side, side, channels, bh, bw)
        return moved.permute(0, 3, 1, 4, 2, 5).reshape(batch, channels, height, width)
    device = x.device
    row_cell, col_cell = block_index(height, side, device), block_index(width, side, device)
    row_start, col_start = block_starts(height, side, device), block_starts(width, side, device)
    row_length, col_length = row_start.diff(), col_start.diff()
    row_offset = torch.arange(height, device=device) - row_start[row_cell]
    col_offset = torch.arange(width, device=device) - col_start[col_cell]
    source = sources[:, row_cell[:, None] * side + col_cell[None, :]]  # (B, H, W) source block
    source_row, source_col = source // side, source % side
    row = row_start[source_row] + (
        row_offset[:, None] * row_length[source_row] // row_length[row_cell][:, None]
    )
    col = col_start[source_col] + (
        col_offset[None, :] * col_length[source_col] // col_length[col_cell][None, :]
    )
    flat = (row * width + col).flatten(1).unsqueeze(1).expand(-1, channels, -1)
    return x.flatten(2).gather(2, flat).view(batch, channels, height, width)


# --- the mixer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PuzzleMixResult:
    """Mixed inputs (B, C, H, W), soft labels (B, K), the graph-cut masks (B, g, g) and the
    realised mixing ratios (B,): the share of the pixels each input shows (the mask's mean
    when its blocks are equal)."""

    x_mixed: torch.Tensor
    y_soft: torch.Tensor
    mask: torch.Tensor
    lam: torch.Tensor


def check_images(x: torch.Tensor, config: PuzzleMixConfig) -> None:
    """Raise a ValueError that names the fix for images Puzzle Mix cannot take, including a
    grid side larger than the image (checked for every entry of ``config.block_nums``, so that
    the error does not depend on the draw). Non-square images and grids that do not divide
    the image are fine: their blocks differ by at most one pixel per side."""
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (B, C, H, W), got {tuple(x.shape)}.")
    if not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor, got {x.dtype}; convert integer images first, "
            "e.g. x.float() / 255."
        )
    if x.shape[0] == 0:
        raise ValueError("the batch is empty; Puzzle Mix needs at least one image.")
    for block_num in config.block_nums:
        geometry(x.shape[-2], x.shape[-1], block_num, config)


def check_saliency_for(x: torch.Tensor, saliency: torch.Tensor) -> None:
    """Raise a ValueError for saliency maps that are unusable or do not match the images."""
    check_saliency(saliency)
    if saliency.shape[0] != x.shape[0]:
        raise ValueError(
            f"batch sizes disagree: {x.shape[0]} images but {saliency.shape[0]} saliency maps; "
            "pass one saliency map per image."
        )
    if saliency.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"saliency maps are {tuple(saliency.shape[-2:])} but images are "
            f"{tuple(x.shape[-2:])}; compute saliency at the input resolution."
        )


def mix_with_params(
    x: torch.Tensor,
    y_soft: torch.Tensor,
    saliency: torch.Tensor,
    params: PuzzleMixParams,
    config: PuzzleMixConfig,
) -> PuzzleMixResult:
    """Puzzle Mix of a batch for given draws: graph cut, transport, mixing (no validation).

    ``y_soft`` holds (B, K) labels; ``x`` is never modified.
    """
    height, width = x.shape[-2:]
    geo = geometry(height, width, params.block_num, config)
    permutation = params.pairing.permutation.to(x.device)
    mask = graph_cut_mask(x, saliency, params, config)
    own, partner = x, x[permutation]
    if config.transport and geo.block_num > 1:
        side = geo.transport_num
        mask_t = upsample_mask(mask, side, side)
        saliency_t = normalize_saliency(pool_blocks(saliency.detach(), side)).to(x.device)
        own = move_blocks(own, transport_sources(mask_t, saliency_t, config.t_eps), side)
        partner_sources = transport_sources(1 - mask_t, saliency_t[permutation], config.t_eps)
        partner = move_blocks(partner, partner_sources, side)
    weight = upsample_mask(mask, height, width).unsqueeze(1)
    x_mixed = weight * own + (1 - weight) * partner
    lam = weight.flatten(1).mean(1)
    labels = mix_pair_labels(y_soft, params.pairing, lam)
    return PuzzleMixResult(x_mixed, labels, mask, lam)


def puzzle_mix(
    x: torch.Tensor,
    y: torch.Tensor,
    saliency: torch.Tensor,
    config: PuzzleMixConfig,
    *,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Puzzle Mix of a batch: mixed inputs and their soft labels.

    Args:
        x: images (B, C, H, W), floating point, square or not; any B >= 1 (an input may be
            drawn as its own partner, as with the official permutation).
        y: class indices (B,) (with ``num_classes``) or soft / one-hot labels (B, K).
        saliency: non-negative saliency maps (B, H, W) at the input resolution.
        config: hyperparameters; no entry of ``config.block_nums`` may exceed H or W.
        num_classes: number of classes, needed when ``y`` holds class indices.
        generator: drives the grid side, the permutation and lambda.

    Returns:
        ``(x_mixed, y_soft)``: new tensors of shapes (B, C, H, W) and (B, K); each soft label
        sums to 1 when the input labels do and weighs only the labels of the two mixed inputs.
    """
    check_images(x, config)
    check_saliency_for(x, saliency)
    y_soft = to_soft_labels(y, num_classes, x.dtype).to(x.device)
    if y_soft.shape[0] != x.shape[0]:
        raise ValueError(
            f"batch sizes disagree: {x.shape[0]} images but {y_soft.shape[0]} labels; "
            "pass one label per image."
        )
    params = draw_params(x.shape[0], config, generator)
    result = mix_with_params(x, y_soft, saliency, params, config)
    return result.x_mixed, result.y_soft


@dataclass
class PuzzleMix:
    """Puzzle Mix's training step (official ``main.py`` ``train`` with ``--graph True``).

    1. clean pass: per-sample cross-entropy scaled by ``2 * clean_lam / num_classes``; its input
       gradient gives the saliency, its weight gradients are kept (added to the loss);
    2. graph cut, transport and mixing of the batch with its permutation;
    3. BCE on the softmax of the mixed batch against the soft labels.
    """

    num_classes: int
    config: PuzzleMixConfig = field(default_factory=PuzzleMixConfig)

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        check_images(x, self.config)
        y_soft = soft_targets(y, self.num_classes, x.shape[0]).to(x.device)

        def mix(saliency: torch.Tensor):
            check_saliency_for(x, saliency)
            params = draw_params(x.shape[0], self.config, generator)
            result = mix_with_params(x, y_soft, saliency, params, self.config)
            return result.x_mixed, result.y_soft, {LAMBDA: result.lam.mean().item()}

        clean_weight = 2 * self.config.clean_lam / self.num_classes
        return saliency_guided_loss(model, x, y_soft, clean_weight=clean_weight, mix=mix)
