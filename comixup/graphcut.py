"""Alpha-beta swap on a 4-connected grid through pyGCO, and GCO's int32 energies.

GCO works on integer energies. :func:`energy_scale` and :func:`to_int32` are the one
conversion used by every caller (Algorithm 1, the reference procedures, Puzzle Mix): each
caller bounds its largest unary term and its largest edge energy (weight times pairwise term),
and the costs are scaled to at most ``ENERGY_SCALE`` units per unit of cost, fewer when the
unary bound would pass ``ENERGY_RANGE`` (int32 headroom for GCO's sums) or the edge bound
``GCO_MAX_ENERGYTERM``, and rounded. A large smoothness weight thus coarsens the unary costs
instead of reaching GCO, which throws from C++ (aborting the interpreter) on any smoothness
weight or pairwise term over ``GCO_MAX_ENERGYTERM``. :meth:`GridSwap.__call__` refuses, with a
ValueError, any integer energies that GCO cannot take, whoever built them.

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
"""Largest |unary term| after conversion to int32 (headroom for GCO's sums)."""
GCO_MAX_ENERGYTERM = 10_000_000
"""GCO's limit on a smoothness weight and on a pairwise term (``GCO_MAX_ENERGYTERM`` in GCO
3.0's ``GCoptimization.h``, as built into gco-wrapper); GCO throws past it."""
_DATA_LIMIT = 4 * ENERGY_RANGE
"""Largest |unary term| :class:`GridSwap` passes to GCO: with edge energies up to
``ENERGY_RANGE``, a site's sums (a difference of two unary terms plus its four edges) stay far
inside int32."""
_INT32_MAX = np.iinfo(np.intc).max


def energy_scale(
    largest: float | np.ndarray, largest_edge: float | np.ndarray = 0.0
) -> float | np.ndarray:
    """Integer units per unit of cost for problems whose largest |unary term| is ``largest``
    and whose largest edge energy (edge weight times the largest pairwise term) is
    ``largest_edge`` (scalars, or one per problem): ``ENERGY_SCALE``, lowered so the unary
    terms stay within ``ENERGY_RANGE`` and the edge energies within ``GCO_MAX_ENERGYTERM``."""
    largest = np.asarray(largest, dtype=np.float64)
    largest_edge = np.asarray(largest_edge, dtype=np.float64)
    if not (np.isfinite(largest).all() and np.isfinite(largest_edge).all()):
        raise ValueError(
            f"graph-cut energies must be finite, got a largest unary term {largest} and edge "
            f"energy {largest_edge}; check the inputs and hyperparameters for inf or NaN."
        )
    return np.minimum(
        np.minimum(ENERGY_SCALE, ENERGY_RANGE / np.maximum(largest, 1e-12)),
        GCO_MAX_ENERGYTERM / np.maximum(largest_edge, 1e-12),
    )


def to_int32(scaled: np.ndarray) -> np.ndarray:
    """Costs already multiplied by an :func:`energy_scale`, rounded to C-contiguous int32.

    Raises a ValueError for NaN, inf or values past int32 (a cast would wrap them silently).
    """
    if scaled.size and not -_INT32_MAX <= scaled.min() <= scaled.max() <= _INT32_MAX:
        raise ValueError(
            f"graph-cut energies span [{scaled.min()}, {scaled.max()}], outside int32 (or NaN); "
            "scale them with energy_scale(largest unary term, largest edge energy) first."
        )
    return np.ascontiguousarray(np.rint(scaled).astype(np.intc))


def check_energies(unary: np.ndarray, pairwise: np.ndarray, edge_weights: np.ndarray) -> None:
    """Raise a ValueError for integer energies GCO cannot take (it would throw from C++ and
    abort the interpreter, or overflow int32): edge weights or pairwise terms outside
    ``[0, GCO_MAX_ENERGYTERM]``, a non-zero pairwise diagonal (not a semi-metric, which a
    swap needs), edge energies over ``ENERGY_RANGE`` or unary terms over 4 x that."""
    weights = (int(edge_weights.min()), int(edge_weights.max())) if edge_weights.size else (0, 0)
    terms = int(pairwise.min()), int(pairwise.max())
    if weights[0] < 0 or terms[0] < 0 or pairwise.trace() != 0:
        raise ValueError(
            "edge weights and pairwise costs must be non-negative, and pairwise costs zero on "
            "the diagonal (a semi-metric), for an alpha-beta swap."
        )
    if max(weights[1], terms[1]) > GCO_MAX_ENERGYTERM or weights[1] * terms[1] > ENERGY_RANGE:
        raise ValueError(
            f"edge weight {weights[1]} x pairwise term {terms[1]} passes GCO's limits "
            f"(GCO_MAX_ENERGYTERM = {GCO_MAX_ENERGYTERM} each, product <= {ENERGY_RANGE:.0e}); "
            "scale the energies with energy_scale(largest unary, largest edge energy)."
        )
    largest = max(-int(unary.min()), int(unary.max()))
    if largest > _DATA_LIMIT:
        raise ValueError(
            f"unary costs reach {largest}, past the int32 headroom of GCO's sums "
            f"({_DATA_LIMIT:.0e}); scale them with energy_scale."
        )


def grid_edges(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertical then horizontal 4-neighbour edges of a row-major grid: (from, to) site ids."""
    sites = np.arange(height * width, dtype=np.intc).reshape(height, width)
    starts = np.concatenate([sites[:-1, :].ravel(), sites[:, :-1].ravel()])
    ends = np.concatenate([sites[1:, :].ravel(), sites[:, 1:].ravel()])
    return starts, ends


class GridSites:
    """The sites and 4-neighbour edges of one grid shape, shared by both swap backends."""

    def __init__(self, height: int, width: int) -> None:
        self.n_sites = height * width
        self.starts, self.ends = grid_edges(height, width)

    @property
    def n_edges(self) -> int:
        return self.starts.size

    def uniform_weights(self, weight: int) -> np.ndarray:
        """The same weight on every edge, as the int32 array ``__call__`` takes."""
        return np.full(self.n_edges, weight, dtype=np.intc)


class GridSwap(GridSites):
    """Alpha-beta swap on one grid shape through pyGCO; integer energies only."""

    def __init__(self, height: int, width: int) -> None:
        if _cgco is None:
            raise ImportError("pyGCO (gco-wrapper) does not import; use the compiled backend.")
        super().__init__(height, width)
        self._handle = np.empty(1, dtype=np.intc)
        self._energy = np.empty(1, dtype=np.longlong)

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
        layout = (self.n_sites, n_labels), (n_labels, n_labels)
        for array, shape in zip((unary, pairwise), layout, strict=True):
            if array.shape != shape or array.dtype != np.intc or not array.flags.c_contiguous:
                raise ValueError(
                    f"expected C-contiguous int32 costs of shape {shape}, got {array.shape} "
                    f"{array.dtype}; build them with to_int32."
                )
        check_energies(unary, pairwise, edge_weights)
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
