"""Alpha-beta swap on a 4-connected grid through pyGCO, and GCO's int32 energies.

GCO works on integer energies. :func:`energy_scale` and :func:`to_int32` are the one
conversion used by every caller (Algorithm 1, the reference procedures, Puzzle Mix): each
caller bounds its largest term, and the costs are scaled to at most ``ENERGY_SCALE`` units per
unit of cost (fewer when the bound would pass ``ENERGY_RANGE``, leaving int32 headroom for
GCO's sums) and rounded.

``gco.cut_grid_graph`` rebuilds the grid's edge lists and converts every array on each call;
on a 4x4 grid that bookkeeping costs about as much as the swap itself. :class:`GridSwap`
builds the edges once and hands GCO integer energies directly, making the same pyGCO calls in
the same order (create graph, data cost, neighbours, smooth cost, swap until convergence), so
its labels equal ``gco.cut_grid_graph(..., algorithm="swap")`` on the same integer inputs
(tested). Its call, ``swap(unary, pairwise, edge_weights) -> labels``, is the whole interface
a labeling backend needs to provide.
"""

from __future__ import annotations

import numpy as np

# pyGCO's ctypes binding of the GCO library; GCO's own object wrapper (gco.pygco.GCO) adds
# per-call checks and array copies that cost more than a 4x4 swap.
try:
    from gco.cgco import _cgco
except ImportError:  # pyGCO does not build everywhere (pyGCO #17, #28): comixup.labeling
    _cgco = None

ENERGY_SCALE = 1e6
"""Integer units per unit of cost: costs keep 6 decimal places."""
ENERGY_RANGE = 1e8
"""Largest |energy term| after conversion to int32 (headroom for GCO's sums)."""


def energy_scale(largest: float | np.ndarray) -> float | np.ndarray:
    """Integer units per unit of cost for problems whose largest |term| is ``largest``
    (a scalar, or one per problem): ``ENERGY_SCALE``, lowered so the largest term stays within
    ``ENERGY_RANGE``."""
    return np.minimum(ENERGY_SCALE, ENERGY_RANGE / np.maximum(largest, 1e-12))


def to_int32(scaled: np.ndarray) -> np.ndarray:
    """Costs already multiplied by an :func:`energy_scale`, rounded to C-contiguous int32."""
    return np.ascontiguousarray(np.rint(scaled).astype(np.intc))


def grid_edges(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertical then horizontal 4-neighbour edges of a row-major grid: (from, to) site ids."""
    sites = np.arange(height * width, dtype=np.intc).reshape(height, width)
    starts = np.concatenate([sites[:-1, :].ravel(), sites[:, :-1].ravel()])
    ends = np.concatenate([sites[1:, :].ravel(), sites[:, 1:].ravel()])
    return starts, ends


class GridSwap:
    """Alpha-beta swap on one grid shape; integer energies only."""

    def __init__(self, height: int, width: int) -> None:
        if _cgco is None:
            raise ImportError("pyGCO (gco-wrapper) does not import; use the compiled backend.")
        self.n_sites = height * width
        self.starts, self.ends = grid_edges(height, width)
        self._handle = np.empty(1, dtype=np.intc)
        self._energy = np.empty(1, dtype=np.longlong)

    @property
    def n_edges(self) -> int:
        return self.starts.size

    def uniform_weights(self, weight: int) -> np.ndarray:
        """The same weight on every edge, as the int32 array ``__call__`` takes."""
        return np.full(self.n_edges, weight, dtype=np.intc)

    def __call__(
        self, unary: np.ndarray, pairwise: np.ndarray, edge_weights: np.ndarray
    ) -> np.ndarray:
        """Labels (n_sites,) minimising ``sum unary[s, l_s] + sum_e w_e pairwise[l_p, l_q]``.

        Args:
            unary: (n_sites, n_labels) C-contiguous int32 costs.
            pairwise: (n_labels, n_labels) C-contiguous symmetric int32 costs, zero on the
                diagonal.
            edge_weights: (n_edges,) C-contiguous int32 weights in :func:`grid_edges` order
                (vertical edges row by row, then horizontal ones).
        """
        n_labels = unary.shape[1]
        if n_labels < 2:
            raise ValueError(f"GCO needs at least two labels, got {n_labels}.")
        if edge_weights.shape != (self.n_edges,) or edge_weights.dtype != np.intc:
            raise ValueError(
                f"expected {self.n_edges} int32 edge weights, got {edge_weights.shape} "
                f"{edge_weights.dtype}; build them with to_int32 or uniform_weights."
            )
        _cgco.gcoCreateGeneralGraph(self.n_sites, n_labels, self._handle)
        handle = int(self._handle[0])
        try:
            _cgco.gcoSetDataCost(handle, unary)
            if self.n_edges:
                _cgco.gcoSetAllNeighbors(handle, self.starts, self.ends, edge_weights, self.n_edges)
            _cgco.gcoSetSmoothCost(handle, pairwise)
            _cgco.gcoSwap(handle, -1, self._energy)
            labels = np.empty(self.n_sites, dtype=np.intc)
            _cgco.gcoGetLabels(handle, labels)
            return labels
        finally:
            _cgco.gcoDestroyGraph(handle)
