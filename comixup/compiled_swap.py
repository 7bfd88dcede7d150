"""GCO's alpha-beta swap compiled with numba for the tiny grids of Co-Mixup and Puzzle Mix.

GCO (Boykov, Veksler and Zabih, "Fast Approximate Energy Minimization via Graph Cuts", PAMI
2001; the library of Delong, Osokin, Isack and Boykov wrapped by pyGCO) builds a general graph,
linked lists and a fresh Boykov-Kolmogorov max-flow for every move, and visits every label pair
of every cycle. On a 4x4 grid that machinery costs far more than the 16-node max-flows it
solves. :class:`CompiledSwap` makes the same moves on preallocated arrays:

- the energy ``sum_s unary[s, l_s] + sum_(s, t) w_st pairwise[l_s, l_t]`` in 64-bit integers;
- the start: all-zero labels (GCO's default) unless a warm start is given;
- the cycle: label pairs (a, b), a < b, in GCO's order (a ascending, b descending from the
  last label); a pair no site holds is skipped (GCO returns at once there too);
- the move: the binary energy of the sites holding a or b, built term by term as GCO's
  ``setupDataCostsSwap`` / ``setupSmoothCostsSwap`` and ``Energy::add_term1/2`` do, minimised
  by max-flow (one-edge paths first, then Dinic's shortest augmenting paths); of all minimum
  cuts the one whose sink side (label b) is smallest is taken, i.e. the sites that can still
  reach the sink in the residual graph. That is the cut Boykov-Kolmogorov's max-flow reports
  (its free nodes default to the source), so ties go to label a exactly as in GCO;
- moves that cannot change anything are not solved: a pair whose sites and their neighbours
  kept their labels since its last solve (the same binary problem gives the same cut), and a
  pair with sites on one side only where no site would switch on its own, ties going to a
  (with a zero-diagonal, non-negative table no group would switch either);
- the stop: after a cycle whose energy is not lower than the one before (GCO's
  ``while (old_energy > new_energy)``), with at most ``max_cycles`` cycles;
- a graph without edges takes each site's first cheapest label (GCO's special case).

Everything is preallocated per instance and the kernel releases the GIL, so instances on
different threads run in parallel. An instance is not thread-safe: use one per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from comixup.graphcut import GridSites

MAX_CYCLES = 10_000_000
"""GCO's cycle cap for ``swap(-1)``."""

NOT_SUBMODULAR = -(2**62)
"""What the kernel returns when a pair term is not submodular."""


@njit(cache=True, nogil=True)
def _energy(unary, pairwise, weights, topology, labels):
    neighbours, edges = topology[0], topology[1]
    total = np.int64(0)
    for site in range(unary.shape[0]):
        label = labels[site]
        total += np.int64(unary[site, label])
        for slot in range(neighbours.shape[1]):
            other = neighbours[site, slot]
            if other < 0:
                break
            if other < site:
                total += np.int64(weights[edges[site, slot]]) * pairwise[label, labels[other]]
    return total


@njit(cache=True, nogil=True)
def _build_move(
    alpha, beta, unary, pairwise, weights, topology, labels, members, active, tcap, cap
):
    """The binary problem of swap (alpha, beta): x_s = 0 keeps alpha, 1 takes beta.

    Lists the sites holding alpha or beta in ``members`` (flagged in ``active``); ``tcap[s]``
    is the residual source -> s capacity when positive, s -> sink when negative; ``cap[s, k]``
    the residual capacity of s -> its k-th neighbour. Returns the number of members, or
    ``NOT_SUBMODULAR`` when a pair term cannot be cut.
    """
    neighbours, edges, reverse = topology[0], topology[1], topology[2]
    n_sites, degree = neighbours.shape
    size = 0
    for site in range(n_sites):
        label = labels[site]
        if label in (alpha, beta):
            members[size] = site
            size += 1
            active[site] = 1
            tcap[site] = 0
            for slot in range(degree):
                cap[site, slot] = 0
    for index in range(size):
        site = members[index]
        # add_term1(x, E(0), E(1)): x = 1 costs E(1), x = 0 costs E(0)
        t = np.int64(unary[site, beta]) - np.int64(unary[site, alpha])
        for slot in range(degree):
            other = neighbours[site, slot]
            if other < 0:
                break
            w = np.int64(weights[edges[site, slot]])
            if not active[other]:
                fixed = labels[other]
                t += w * (np.int64(pairwise[beta, fixed]) - np.int64(pairwise[alpha, fixed]))
            elif other < site:
                # GCO's add_term2(x = site, y = other) with E(x, y) = w V[label x, label y]
                e00 = w * pairwise[alpha, alpha]
                e01 = w * pairwise[alpha, beta]
                e10 = w * pairwise[beta, alpha]
                e11 = w * pairwise[beta, beta]
                if e00 + e11 > e01 + e10:
                    return NOT_SUBMODULAR
                t += e11 - e00
                b = e01 - e00
                c = e10 - e11
                back = reverse[site, slot]
                if b < 0:
                    t -= b
                    tcap[other] += b
                    cap[other, back] += b + c
                elif c < 0:
                    t += c
                    tcap[other] -= c
                    cap[site, slot] += b + c
                else:
                    cap[site, slot] += b
                    cap[other, back] += c
        tcap[site] += t
    return size


@njit(cache=True, nogil=True)
def _keeps_labels(alpha, beta, held, unary, pairwise, weights, topology, labels):
    """Whether swap (alpha, beta) provably leaves every site as it is, when only ``held``
    (alpha or beta) has sites and the pairwise costs are zero on the diagonal and
    non-negative (so each pair term is >= 0 and 0 when both sites agree).

    With t_s the change of site s's unary and fixed-neighbour costs when it takes beta, the
    binary energy is ``sum_s t_s x_s + (pair terms >= 0)``: if every t_s >= 0, x = 0 is a
    minimum and the smallest sink side is empty (all keep alpha); if every t_s < 0, x = 1 is
    the only minimum (all keep beta).
    """
    neighbours, edges = topology[0], topology[1]
    n_sites, degree = neighbours.shape
    for site in range(n_sites):
        if labels[site] != held:
            continue
        t = np.int64(unary[site, beta]) - np.int64(unary[site, alpha])
        for slot in range(degree):
            other = neighbours[site, slot]
            if other < 0:
                break
            fixed = labels[other]
            if fixed != held:
                w = np.int64(weights[edges[site, slot]])
                t += w * (np.int64(pairwise[beta, fixed]) - np.int64(pairwise[alpha, fixed]))
        if (t < 0) if held == alpha else (t >= 0):
            return False
    return True


@njit(cache=True, nogil=True)
def _max_flow(topology, members, size, active, tcap, cap, queue, level, current, path, path_slot):
    """Dinic's max-flow: shortest augmenting paths, a blocking flow per BFS level graph.

    Sources are the members with ``tcap > 0``, sinks those with ``tcap < 0``.
    """
    neighbours, reverse = topology[0], topology[2]
    degree = neighbours.shape[1]
    # Paths of one edge first: on grids most of the flow goes straight to a neighbour.
    for index in range(size):
        site = members[index]
        for slot in range(degree):
            if tcap[site] <= 0:
                break
            other = neighbours[site, slot]
            if other < 0:
                break
            if active[other] and tcap[other] < 0 and cap[site, slot] > 0:
                flow = min(tcap[site], -tcap[other], cap[site, slot])
                tcap[site] -= flow
                tcap[other] += flow
                cap[site, slot] -= flow
                cap[other, reverse[site, slot]] += flow
    while True:
        tail = 0
        for index in range(size):
            site = members[index]
            current[site] = 0
            if tcap[site] > 0:
                level[site] = 0
                queue[tail] = site
                tail += 1
            else:
                level[site] = -1
        if tail == 0:
            return
        # BFS up to the first level holding a sink: longer paths wait for the next phase
        limit = -1
        head = 0
        while head < tail:
            node = queue[head]
            head += 1
            if level[node] == limit:
                break
            for slot in range(degree):
                other = neighbours[node, slot]
                if other < 0:
                    break
                if not active[other] or level[other] >= 0 or cap[node, slot] <= 0:
                    continue
                level[other] = level[node] + 1
                if tcap[other] < 0:
                    limit = level[other]
                queue[tail] = other
                tail += 1
        if limit < 0:
            return
        for start_index in range(size):
            start = members[start_index]
            if level[start] != 0:
                continue
            depth = 0
            path[0] = start
            while tcap[start] > 0:
                node = path[depth]
                if tcap[node] < 0:
                    flow = min(tcap[start], -tcap[node])
                    for step in range(1, depth + 1):
                        flow = min(flow, cap[path[step - 1], path_slot[step]])
                    tcap[start] -= flow
                    tcap[node] += flow
                    for step in range(1, depth + 1):
                        before, slot = path[step - 1], path_slot[step]
                        cap[before, slot] -= flow
                        cap[path[step], reverse[before, slot]] += flow
                    depth = 0
                    continue
                advanced = False
                while current[node] < degree:
                    slot = current[node]
                    other = neighbours[node, slot]
                    if other < 0:
                        current[node] = degree
                        break
                    if active[other] and level[other] == level[node] + 1 and cap[node, slot] > 0:
                        depth += 1
                        path[depth] = other
                        path_slot[depth] = slot
                        advanced = True
                        break
                    current[node] += 1
                if not advanced:
                    # a dead end for this phase
                    level[node] = -1
                    if depth == 0:
                        break
                    depth -= 1
                    current[path[depth]] += 1


@njit(cache=True, nogil=True)
def _apply_cut(
    alpha, beta, topology, labels, counts, members, size, active, tcap, cap, queue, now, stamp
):
    """Members that can still reach the sink take beta, the others alpha (BK's cut).

    Each changed site stamps ``now`` on the labels whose moves it can affect: its old and
    new label and its neighbours' labels. Clears ``active``.
    """
    neighbours, reverse = topology[0], topology[2]
    degree = neighbours.shape[1]
    # active: 1 member, 2 member reaching the sink
    tail = 0
    for index in range(size):
        site = members[index]
        if tcap[site] < 0:
            active[site] = 2
            queue[tail] = site
            tail += 1
    head = 0
    while head < tail:
        node = queue[head]
        head += 1
        for slot in range(degree):
            other = neighbours[node, slot]
            if other < 0:
                break
            if active[other] == 1 and cap[other, reverse[node, slot]] > 0:
                active[other] = 2
                queue[tail] = other
                tail += 1
    for index in range(size):
        site = members[index]
        new = beta if active[site] == 2 else alpha
        active[site] = 0
        if new != labels[site]:
            counts[labels[site]] -= 1
            counts[new] += 1
            labels[site] = new
            stamp[alpha] = now
            stamp[beta] = now
            for slot in range(degree):
                other = neighbours[site, slot]
                if other < 0:
                    break
                stamp[labels[other]] = now


@njit(cache=True, nogil=True)
def swap_kernel(unary, pairwise, weights, topology, labels, max_cycles, work64, work32):
    """Alpha-beta swap from ``labels`` (updated in place); returns the final energy.

    Args:
        unary: (n_sites, n_labels) int32 data costs.
        pairwise: (n_labels, n_labels) int32 label costs, ``E00 + E11 <= E01 + E10`` per pair.
        weights: (n_edges,) int32 edge weights.
        topology: (3, n_sites, degree) int32: neighbour site (-1 pads), its edge id, and the
            slot of the reverse direction in the neighbour's row.
        labels: (n_sites,) int32 start, overwritten with the result.
        work64, work32: scratch of :func:`workspace_sizes`.

    A move is skipped when nothing it depends on (the labels of the sites holding alpha or
    beta and of their neighbours) changed since it was last solved: it would give the same
    cut again. GCO solves it anyway; the result is the same.

    Returns the energy, or ``NOT_SUBMODULAR`` when a pair term cannot be cut (GCO aborts).
    """
    n_sites, n_labels = unary.shape
    degree = topology.shape[2]
    tcap = work64[:n_sites]
    cap = work64[n_sites : n_sites * (degree + 1)].reshape(n_sites, degree)
    offset = n_sites * (degree + 1)
    stamp = work64[offset : offset + n_labels]
    solved = work64[offset + n_labels : offset + n_labels * (n_labels + 1)].reshape(
        n_labels, n_labels
    )
    active = work32[:n_sites]
    queue = work32[n_sites : 2 * n_sites]
    level = work32[2 * n_sites : 3 * n_sites]
    current = work32[3 * n_sites : 4 * n_sites]
    path = work32[4 * n_sites : 5 * n_sites + 1]
    path_slot = work32[5 * n_sites + 1 : 6 * n_sites + 2]
    members = work32[6 * n_sites + 2 : 7 * n_sites + 2]
    counts = work32[7 * n_sites + 2 : 7 * n_sites + 2 + n_labels]
    if weights.size == 0:
        for site in range(n_sites):
            best = 0
            for label in range(1, n_labels):
                if unary[site, label] < unary[site, best]:
                    best = label
            labels[site] = best
        return _energy(unary, pairwise, weights, topology, labels)
    counts[:] = 0
    active[:] = 0
    for site in range(n_sites):
        counts[labels[site]] += 1
    stamp[:] = 0
    solved[:, :] = -1
    now = 0
    plain = True
    for label in range(n_labels):
        plain = plain and pairwise[label, label] == 0
        for other in range(n_labels):
            plain = plain and pairwise[label, other] >= 0
    for edge in range(weights.size):
        plain = plain and weights[edge] >= 0
    energy = _energy(unary, pairwise, weights, topology, labels)
    previous = energy + 1
    cycle = 1
    while previous > energy and cycle <= max_cycles:
        previous = energy
        for alpha in range(n_labels):
            for beta in range(n_labels - 1, alpha, -1):
                if counts[alpha] + counts[beta] == 0:
                    continue
                if max(stamp[alpha], stamp[beta]) <= solved[alpha, beta]:
                    continue
                now += 1
                if (
                    plain
                    and (counts[alpha] == 0 or counts[beta] == 0)
                    and _keeps_labels(
                        alpha,
                        beta,
                        alpha if counts[alpha] else beta,
                        unary,
                        pairwise,
                        weights,
                        topology,
                        labels,
                    )
                ):
                    solved[alpha, beta] = now
                    continue
                size = _build_move(
                    alpha,
                    beta,
                    unary,
                    pairwise,
                    weights,
                    topology,
                    labels,
                    members,
                    active,
                    tcap,
                    cap,
                )
                if size == NOT_SUBMODULAR:
                    return NOT_SUBMODULAR
                _max_flow(
                    topology,
                    members,
                    size,
                    active,
                    tcap,
                    cap,
                    queue,
                    level,
                    current,
                    path,
                    path_slot,
                )
                _apply_cut(
                    alpha,
                    beta,
                    topology,
                    labels,
                    counts,
                    members,
                    size,
                    active,
                    tcap,
                    cap,
                    queue,
                    now,
                    stamp,
                )
                solved[alpha, beta] = now
        energy = _energy(unary, pairwise, weights, topology, labels)
        cycle += 1
    return energy


def workspace_sizes(n_sites: int, degree: int, n_labels: int) -> tuple[int, int]:
    """Lengths of the int64 and int32 scratch arrays of :func:`swap_kernel`."""
    return n_sites * (degree + 1) + n_labels * (n_labels + 1), 7 * n_sites + 2 + n_labels


def adjacency(n_sites: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(3, n_sites, degree) int32 neighbour lists of an undirected edge list (see kernel)."""
    degree = np.bincount(np.concatenate([starts, ends]), minlength=n_sites)
    topology = np.full((3, n_sites, max(int(degree.max(initial=0)), 1)), -1, dtype=np.int32)
    filled = np.zeros(n_sites, dtype=np.int64)
    for edge, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        slot_a, slot_b = filled[a], filled[b]
        topology[:, a, slot_a] = (b, edge, slot_b)
        topology[:, b, slot_b] = (a, edge, slot_a)
        filled[a] += 1
        filled[b] += 1
    return topology


class CompiledSwap(GridSites):
    """Alpha-beta swap on a ``height x width`` 4-connected grid; GCO's moves, compiled.

    Called like :class:`comixup.graphcut.GridSwap` and giving the same labels on the same
    integer energies (tested). Not thread-safe: each instance owns its scratch buffers.
    """

    def __init__(self, height: int, width: int) -> None:
        super().__init__(height, width)
        self.topology = adjacency(self.n_sites, self.starts, self.ends)
        self._n_labels = 0
        self._work64 = self._work32 = np.empty(0)
        self.energy = 0
        """The energy of the last call's labels."""

    def __call__(
        self,
        unary: np.ndarray,
        pairwise: np.ndarray,
        edge_weights: np.ndarray,
        *,
        init: np.ndarray | None = None,
    ) -> np.ndarray:
        """Labels (n_sites,) minimising ``sum unary[s, l_s] + sum_e w_e pairwise[l_p, l_q]``.

        Args:
            unary: (n_sites, n_labels) int32 costs.
            pairwise: (n_labels, n_labels) int32 costs with ``V[a,a] + V[b,b] <= V[a,b] +
                V[b,a]`` (e.g. symmetric, non-negative, zero diagonal).
            edge_weights: (n_edges,) int32 weights in :func:`comixup.graphcut.grid_edges`
                order (vertical edges row by row, then horizontal ones).
            init: a warm start, (n_sites,) labels, instead of GCO's all-zero start.
        """
        n_labels = unary.shape[1]
        if n_labels < 2:
            raise ValueError(f"the swap needs at least two labels, got {n_labels}.")
        if unary.shape[0] != self.n_sites or pairwise.shape != (n_labels, n_labels):
            raise ValueError(
                f"expected unary ({self.n_sites}, L) and pairwise (L, L), got "
                f"{unary.shape} and {pairwise.shape}."
            )
        if edge_weights.shape != (self.n_edges,) or edge_weights.dtype != np.intc:
            raise ValueError(
                f"expected {self.n_edges} int32 edge weights, got {edge_weights.shape} "
                f"{edge_weights.dtype}; build them with to_int32 or uniform_weights."
            )
        if init is None:
            labels = np.zeros(self.n_sites, dtype=np.int32)
        else:
            labels = np.array(init, dtype=np.int32)
            if labels.shape != (self.n_sites,) or labels.min() < 0 or labels.max() >= n_labels:
                raise ValueError(f"init must hold {self.n_sites} labels in [0, {n_labels}).")
        if n_labels > self._n_labels:
            size64, size32 = workspace_sizes(self.n_sites, self.topology.shape[2], n_labels)
            self._work64 = np.empty(size64, dtype=np.int64)
            self._work32 = np.empty(size32, dtype=np.int32)
            self._n_labels = n_labels
        energy = swap_kernel(
            np.ascontiguousarray(unary, dtype=np.int32),
            np.ascontiguousarray(pairwise, dtype=np.int32),
            np.ascontiguousarray(edge_weights),
            self.topology,
            labels,
            MAX_CYCLES,
            self._work64,
            self._work32,
        )
        if energy == NOT_SUBMODULAR:
            raise ValueError(
                "pairwise costs are not submodular for a swap move (V[a,a] + V[b,b] > V[a,b] + "
                "V[b,a]); pass a metric or semi-metric table, e.g. squared label distances."
            )
        self.energy = int(energy)
        return labels
