"""Block grids over an image, equal blocks or not: which block each pixel lies in, the mean of
each block, and the up-sampling of per-block values back to pixels.

A side of ``length`` pixels cut into ``blocks`` blocks puts pixel p in block
``p * blocks // length``: equal blocks when ``blocks`` divides ``length``, otherwise blocks of
``length // blocks`` or one more pixel, the longer ones spread evenly. Co-Mixup uses equal
blocks only (its grid must divide the image); Puzzle Mix cuts any input, e.g. 160x100
spectrograms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from comixup.saliency import pool_to_grid


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


def block_averaging(groups: torch.Tensor, n_groups: int, dtype: torch.dtype) -> torch.Tensor:
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
    rows = block_averaging(block_index(height, side, saliency.device), side, saliency.dtype)
    cols = block_averaging(block_index(width, side, saliency.device), side, saliency.dtype)
    return torch.einsum("ih,bhw,jw->bij", rows, saliency, cols)


def upsample_blocks(values: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest up-sampling of per-block values (..., gh, gw) to (..., height, width): each
    pixel takes the value of its block (:func:`block_index`), with exact block boundaries."""
    rows = block_index(height, values.shape[-2], values.device)
    cols = block_index(width, values.shape[-1], values.device)
    return values[..., rows[:, None], cols[None, :]]
