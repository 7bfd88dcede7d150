"""The pixel layout of one Puzzle Mix draw: the graph-cut grid, the data-smoothness
neighbourhood and the transport grid, on inputs of any shape (unequal blocks where a grid does
not divide a side, :mod:`comixup.grid`); and the draws of one call (grid side, pairing)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines.pairs import Pairing, draw_pairing
from baselines.puzzle_mix.config import PuzzleMixConfig


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
