"""Puzzle Mix's transport (official ``mask_transport`` / ``transport_image``): each image's
blocks are reassigned by the official iterative greedy assignment so that its salient blocks
move into the region the mask shows, then the image is rebuilt from its own blocks."""

from __future__ import annotations

import torch

from comixup.grid import block_index, block_starts


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
