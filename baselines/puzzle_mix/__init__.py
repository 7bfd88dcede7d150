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

Layout: ``config`` (the hyperparameters), ``geometry`` (grids and draws), ``graphcut`` (the
mask), ``transport``, ``mixer`` (:class:`PuzzleMix` and :func:`puzzle_mix`), ``method``
(:class:`PuzzleMixMethod`, the training step); the block-grid helpers it shares with Co-Mixup
are in :mod:`comixup.grid`.
"""

from baselines.puzzle_mix.config import PuzzleMixConfig
from baselines.puzzle_mix.geometry import Geometry, PuzzleMixParams, draw_params, geometry
from baselines.puzzle_mix.graphcut import (
    CutEnergies,
    boundary_steps,
    cut_energies,
    graph_cut_mask,
    label_prior,
    mask_levels,
    solve_masks,
)
from baselines.puzzle_mix.method import PuzzleMixMethod
from baselines.puzzle_mix.mixer import (
    PuzzleMix,
    PuzzleMixResult,
    mix_with_params,
    puzzle_mix,
    realised_lambda,
)
from baselines.puzzle_mix.transport import (
    complete_assignment,
    greedy_assignment,
    move_blocks,
    transport_sources,
)

__all__ = [
    "CutEnergies",
    "Geometry",
    "PuzzleMix",
    "PuzzleMixConfig",
    "PuzzleMixMethod",
    "PuzzleMixParams",
    "PuzzleMixResult",
    "boundary_steps",
    "complete_assignment",
    "cut_energies",
    "draw_params",
    "geometry",
    "graph_cut_mask",
    "greedy_assignment",
    "label_prior",
    "mask_levels",
    "mix_with_params",
    "move_blocks",
    "puzzle_mix",
    "realised_lambda",
    "solve_masks",
    "transport_sources",
]
