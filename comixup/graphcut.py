"""Alpha-beta swap on a 4-connected grid through pyGCO, with the grid set up once.

``gco.cut_grid_graph`` rebuilds the grid's edge lists and converts every array on each call;
on a 4x4 grid that bookkeeping costs about as much as the swap itself. :class:`GridSwap`
builds the edges once and hands GCO integer energies directly, making the same pyGCO calls in
the same order (create graph, data cost, neighbours, smooth cost, swap until convergence), so
its labels equal ``gco.cut_grid_graph(..., algorithm="swap")`` on the same integer inputs
(tested). Puzzle Mix's labeling uses the same helper.
"""

from __future__ import annotations

import numpy as np

# pyGCO's ctypes binding of the GCO library; GCO's own object wrapper (gco.pygco.GCO) adds
# per-call checks and array copies that cost more than a 4x4 swap.
from gco.cgco import _cgco


def grid_edges(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertical then horizontal 4-neighbour edges of a row-major grid: (from, to) site ids."""
    sites = np.arange(height * width, dtype=np.intc).reshape(height, width)
    starts = np.concatenate([sites[:-1, :].ravel(), sites[:, :-1].ravel()])
    ends = np.concatenate([sites[1:, :].ravel(), sites[:, 1:].ravel()])
    return starts, ends


class GridSwap:
    """Alpha-beta swap for one grid shape with uniform edge weights; integer energies only."""

    def __init__(self, height: int, width: int, edge_weight: int) -> None:
        self.n_sites = height * width
        self.starts, self.ends = grid_edges(height, width)
        self.weights = np.full(self.starts.size, edge_weight, dtype=np.intc)
        self._handle = np.empty(1, dtype=np.intc)
        self._energy = np.empty(1, dtype=np.longlong)

    def __call__(self, unary: np.ndarray, pairwise: np.ndarray) -> np.ndarray:
        """Labels (n_sites,) minimising ``sum unary[s, l_s] + w * sum pairwise[l_s, l_t]``.

        Args:
            unary: (n_sites, n_labels) C-contiguous int32 costs.
            pairwise: (n_labels, n_labels) C-contiguous symmetric int32 costs, zero on the
                diagonal.
        """
        n_labels = unary.shape[1]
        if n_labels < 2:
            raise ValueError(f"GCO needs at least two labels, got {n_labels}.")
        _cgco.gcoCreateGeneralGraph(self.n_sites, n_labels, self._handle)
        handle = int(self._handle[0])
        try:
            _cgco.gcoSetDataCost(handle, unary)
            if self.starts.size:
                _cgco.gcoSetAllNeighbors(
                    handle, self.starts, self.ends, self.weights, self.starts.size
                )
            _cgco.gcoSetSmoothCost(handle, pairwise)
            _cgco.gcoSwap(handle, -1, self._energy)
            labels = np.empty(self.n_sites, dtype=np.intc)
            _cgco.gcoGetLabels(handle, labels)
            return labels
        finally:
            _cgco.gcoDestroyGraph(handle)
