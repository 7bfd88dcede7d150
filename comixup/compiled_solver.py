"""Algorithm 1 on one partition as one numba function: every output step, no Python between.

:class:`comixup.solver._PartitionSolver` runs Algorithm 1 as a Python loop around the swap:
per output step it builds the modular penalty, the output's states, their int32 unary table
and pairwise table, calls the swap and updates the counts, and per pass it evaluates f twice.
On the paper's sizes (20 inputs, 4x4 grid, 80 output steps per partition) that NumPy work costs
more than the swaps, and it holds the GIL, so partitions on two threads ran no faster than on
one. :func:`solve_kernel` does the same work in the same order, in compiled code that releases
the GIL:

- the penalty ``2 gamma' [A v]_i`` where ``[A v]_i > tau'``, plus ``gamma'`` times the resolve
  cost once the resolve pass has begun;
- the states: the plain inputs, and after the first pass the soft states over the output's
  ``mix_candidates`` most assigned inputs (ties to the lower input index, as the stable sort
  there), in :func:`comixup.solver.mixture_template`'s order;
- their energies: the state unary ``(unary + penalty) @ states.T / units`` (plain only: the
  unary itself) scaled and rounded half to even as ``to_int32``, the pairwise table the exact
  integer squared distances between states, the uniform edge weight;
- :func:`comixup.compiled_swap.swap_kernel` from the all-zero start, skipped when the output's
  energies are those of its last step (the same problem gives the same labels);
- the resolve costs before the last pass (official ``resolve_label``), the clipped f after each
  pass (kept for ``keep_best``, which picks among them with ``objective_np``), and the
  official early stop on the unclipped f.

So it returns the labels of the per-step solver with the compiled swap on the same inputs
(tested on 1,000 random and 100 realistic problems). Its f is summed in a different order
from ``objective_np``: equal to it within rounding, not bit for bit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from comixup.compiled_swap import (
    MAX_CYCLES,
    NOT_SUBMODULAR,
    adjacency,
    swap_kernel,
)
from comixup.graphcut import grid_edges

if TYPE_CHECKING:
    from comixup.solver import _PartitionSolver

OK = 0
"""Status of a solve that finished."""
OVER_INT32 = 1
"""Status when a scaled unary term left int32 (``to_int32`` raises there)."""
_INT32_MAX = 2147483647
_RELATIVE_TOLERANCE = 1e-6
"""Early stop when f changes by less than this, relative (official ``get_onehot_matrix``)."""


@njit(cache=True, nogil=True)
def _objective(unary, z, counts, A, topology, beta, gamma, tau, others, pressure):
    """Clipped and unclipped f of z (m', n, m) with counts (m', m): see ``objective_np``."""
    n_output, n_blocks, m = z.shape
    neighbours = topology[0]
    linear = 0.0
    smooth = 0.0
    for j in range(n_output):
        for k in range(n_blocks):
            for i in range(m):
                if z[j, k, i] != 0.0:
                    linear += unary[k, i] * z[j, k, i]
            for slot in range(neighbours.shape[1]):
                other = neighbours[k, slot]
                if other < 0:
                    break
                if other < k:
                    for i in range(m):
                        step = z[j, k, i] - z[j, other, i]
                        smooth += step * step
    clipped = 0.0
    plain = 0.0
    for j in range(n_output):
        for i in range(m):
            others[i] = -counts[j, i]
        for jj in range(n_output):
            for i in range(m):
                others[i] += counts[jj, i]
        for i in range(m):
            total = 0.0
            for col in range(m):
                total += A[i, col] * others[col]
            pressure[i] = total
            term = counts[j, i] * total
            plain += term
            if total > tau:
                clipped += term
    base = linear + beta / 2 * smooth
    return base + gamma * clipped, base + gamma * plain


@njit(cache=True, nogil=True)
def _candidates(counts_j, limit, chosen):
    """The output's ``limit`` most assigned inputs into ``chosen``, ties to the lower index
    (a stable sort of -counts); returns how many, 0 when fewer than two are assigned."""
    m = counts_j.shape[0]
    assigned = 0
    for i in range(m):
        if counts_j[i] > 0:
            assigned += 1
    if assigned < 2:
        return 0
    size = min(assigned, limit)
    for position in range(size):
        best = -1
        for i in range(m):
            if counts_j[i] <= 0:
                continue
            taken = False
            for earlier in range(position):
                if chosen[earlier] == i:
                    taken = True
                    break
            if taken:
                continue
            if best < 0 or counts_j[i] > counts_j[best]:
                best = i
        chosen[position] = best
    return size


@njit(cache=True, nogil=True)
def _state_table(units, m, chosen, size, weights, pairwise):
    """Squared distances between the output's states into ``pairwise`` (n_states, n_states):
    the plain inputs (weight ``units`` on one input), then the soft states, whose weights
    ``weights[t, c]`` sit on input ``chosen[c]`` (zero elsewhere)."""
    n_states = pairwise.shape[0]
    far = 2 * units * units
    for a in range(m):
        for b in range(m):
            pairwise[a, b] = 0 if a == b else far
    for t in range(n_states - m):
        norm = 0
        for c in range(size):
            norm += weights[t, c] * weights[t, c]
        # ||w_t - units e_i||^2 = ||w_t||^2 - 2 units w_t[i] + units^2
        for i in range(m):
            pairwise[m + t, i] = norm + units * units
        for c in range(size):
            pairwise[m + t, chosen[c]] -= 2 * units * weights[t, c]
        for i in range(m):
            pairwise[i, m + t] = pairwise[m + t, i]
        for u in range(n_states - m):
            distance = 0
            for c in range(size):
                step = weights[t, c] - weights[u, c]
                distance += step * step
            pairwise[m + t, m + u] = distance


@njit(cache=True, nogil=True)
def _resolve(counts, cost):
    """Official ``resolve_label``: for j < j' with the same assigned inputs (more than one),
    j pays 1 for its first input and j' for its second (see ``solver.resolve_identical``)."""
    n_output, m = counts.shape
    cost[:, :] = 0.0
    for first in range(n_output):
        n_first = 0
        first_input = -1
        second_input = -1
        for i in range(m):
            if counts[first, i] > 0:
                if n_first == 0:
                    first_input = i
                elif n_first == 1:
                    second_input = i
                n_first += 1
        if n_first < 2:
            continue
        for second in range(first + 1, n_output):
            same = True
            for i in range(m):
                if (counts[first, i] > 0) != (counts[second, i] > 0):
                    same = False
                    break
            if same:
                cost[first, first_input] = 1.0
                cost[second, second_input] = 1.0


@njit(cache=True, nogil=True)
def solve_kernel(
    unary,
    A,
    init_labels,
    topology,
    edge_weights,
    scale,
    coefficients,
    options,
    templates,
    template_rows,
    z,
    history,
):
    """Algorithm 1 from ``init_labels`` (m', n); writes the last pass's labeling into z.

    Args:
        unary: (n, m) float64 costs, prior included.
        A: (m, m) float64 compatibility matrix.
        init_labels: (m', n) int64 start.
        topology: the grid's (3, n, degree) int32 neighbour lists (``compiled_swap.adjacency``).
        edge_weights: (n_edges,) int32 uniform edge weight.
        scale: integer units per unit of cost (``energy_scale``).
        coefficients: (beta', gamma', tau') float64.
        options: int64 (units, n_iter, resolve, mix_candidates, column_mask); column_mask 1
            applies the threshold's mask to A's columns as the official ``match.py`` does
            (``(mask * A) @ v``), for measuring that quirk; 0 is the paper's ``mask_i [A v]_i``.
        templates: (c_max + 1, rows, c_max) int64 soft-state weights per candidate count c;
            ``template_rows[c]`` of them are used.
        z: (m', n, m) float64 output.
        history: (n_iter + 1, m', n, m) float64 that receives the start and every pass's
            labeling (for ``keep_best``), or an empty (0, m', n, m) array.

    Returns:
        (status, f, passes): ``OK``, the clipped f of z and the number of passes run, or
        ``OVER_INT32`` / ``NOT_SUBMODULAR``.
    """
    beta, gamma, tau = coefficients[0], coefficients[1], coefficients[2]
    units, n_iter, resolve, limit = options[0], options[1], options[2], options[3]
    column_mask = options[4] != 0
    n_output, n_blocks = init_labels.shape
    m = unary.shape[1]
    max_states = m + template_rows.max()
    degree = topology.shape[2]
    # compiled_swap.workspace_sizes, which is Python
    size64 = n_blocks * (degree + 1) + max_states * (max_states + 1)
    size32 = 7 * n_blocks + 2 + max_states
    work64 = np.empty(size64, dtype=np.int64)
    work32 = np.empty(size32, dtype=np.int32)
    pairwise_buffer = np.empty(max_states * max_states, dtype=np.int32)
    unary_buffer = np.empty(n_blocks * max_states, dtype=np.int32)
    # Per output, the int32 energies and states of its last step: an unchanged problem
    # keeps its labels without a swap (the per-step solver's cache).
    last_unary = np.empty((n_output, n_blocks * max_states), dtype=np.int32)
    last_states = np.full(n_output, -1, dtype=np.int64)
    last_chosen = np.full((n_output, max(limit, 1)), -1, dtype=np.int64)
    last_labels = np.zeros((n_output, n_blocks), dtype=np.int32)
    labels = np.zeros(n_blocks, dtype=np.int32)
    chosen = np.full(max(limit, 1), -1, dtype=np.int64)
    order = np.zeros(max(limit, 1), dtype=np.int64)
    penalised = np.empty((n_blocks, m))
    penalty = np.empty(m)
    others = np.empty(m)
    pressure = np.empty(m)
    resolve_cost = np.zeros((n_output, m))
    resolving = False
    z[:, :, :] = 0.0
    counts = np.zeros((n_output, m))
    for j in range(n_output):
        for k in range(n_blocks):
            z[j, k, init_labels[j, k]] = 1.0
            counts[j, init_labels[j, k]] += 1.0
    total = np.zeros(m)
    for j in range(n_output):
        for i in range(m):
            total[i] += counts[j, i]
    f, previous = _objective(unary, z, counts, A, topology, beta, gamma, tau, others, pressure)
    passes = 0
    if history.shape[0] > 0:
        history[0] = z
    two_gamma = 2 * gamma
    for iteration in range(n_iter):
        for j in range(n_output):
            for i in range(m):
                others[i] = total[i] - counts[j, i]
            for i in range(m):
                value = 0.0
                for col in range(m):
                    value += A[i, col] * others[col]
                pressure[i] = value
                penalty[i] = two_gamma * value if value > tau else 0.0
            if column_mask:
                # The official line parses as ((mask * A) @ v): the mask on A's columns.
                for i in range(m):
                    value = 0.0
                    for col in range(m):
                        if pressure[col] > tau:
                            value += A[i, col] * others[col]
                    penalty[i] = two_gamma * value
            for i in range(m):
                if resolving:
                    penalty[i] = penalty[i] + gamma * resolve_cost[j, i]
            for k in range(n_blocks):
                for i in range(m):
                    penalised[k, i] = unary[k, i] + penalty[i]
            size = 0
            if iteration > 0 and units > 1:
                size = _candidates(counts[j], limit, chosen)
            for c in range(size, chosen.shape[0]):
                chosen[c] = -1
            n_states = m + (template_rows[size] if size >= 2 else 0)
            weights = templates[size]
            pairwise = pairwise_buffer[: n_states * n_states].reshape(n_states, n_states)
            _state_table(units, m, chosen, size, weights, pairwise)
            # The per-step solver's state unary is the matrix product (unary + penalty) @
            # states.T / units: the same products, summed in input order.
            for c in range(size):
                order[c] = c
            for c in range(1, size):
                position = c
                while position > 0 and chosen[order[position - 1]] > chosen[order[position]]:
                    order[position - 1], order[position] = order[position], order[position - 1]
                    position -= 1
            unary_int = unary_buffer[: n_blocks * n_states].reshape(n_blocks, n_states)
            for k in range(n_blocks):
                for s in range(n_states):
                    if size == 0:
                        value = penalised[k, s]
                    elif s < m:
                        value = penalised[k, s] * units / units
                    else:
                        value = 0.0
                        for position in range(size):
                            c = order[position]
                            if weights[s - m, c] != 0:
                                value += penalised[k, chosen[c]] * weights[s - m, c]
                        value = value / units
                    scaled = np.rint(value * scale)
                    if not (-_INT32_MAX <= scaled <= _INT32_MAX):
                        return OVER_INT32, 0.0, 0
                    unary_int[k, s] = np.int32(scaled)
            same = last_states[j] == n_states
            if same:
                for c in range(chosen.shape[0]):
                    if last_chosen[j, c] != chosen[c]:
                        same = False
                if same:
                    for index in range(n_blocks * n_states):
                        if last_unary[j, index] != unary_buffer[index]:
                            same = False
                            break
            if same:
                for k in range(n_blocks):
                    labels[k] = last_labels[j, k]
            else:
                labels[:] = 0
                energy = swap_kernel(
                    unary_int, pairwise, edge_weights, topology, labels, MAX_CYCLES, work64, work32
                )
                if energy == NOT_SUBMODULAR:
                    return NOT_SUBMODULAR, 0.0, 0
                last_states[j] = n_states
                last_chosen[j, :] = chosen
                last_unary[j, : n_blocks * n_states] = unary_buffer[: n_blocks * n_states]
                last_labels[j, :] = labels
            for i in range(m):
                others[i] = 0.0
            for k in range(n_blocks):
                s = labels[k]
                for i in range(m):
                    z[j, k, i] = 0.0
                if s < m:
                    z[j, k, s] = 1.0
                else:
                    for c in range(size):
                        z[j, k, chosen[c]] = weights[s - m, c] / units
                for i in range(m):
                    others[i] += z[j, k, i]
            for i in range(m):
                total[i] += others[i] - counts[j, i]
                counts[j, i] = others[i]
        if resolve and iteration == n_iter - 2:
            _resolve(counts, resolve_cost)
            resolving = True
        f, current = _objective(unary, z, counts, A, topology, beta, gamma, tau, others, pressure)
        passes += 1
        if history.shape[0] > 0:
            history[passes] = z
        if abs(previous - current) < _RELATIVE_TOLERANCE * abs(current):
            break
        previous = current
    return OK, f, passes


@lru_cache(maxsize=64)
def _templates(n_levels: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate count's :func:`comixup.solver.mixture_template`, padded into one array
    (limit + 1, rows, limit), and the number of rows of each."""
    from comixup.solver import mixture_template

    tables = [mixture_template(size, n_levels) if size >= 2 else None for size in range(limit + 1)]
    rows = np.array([0 if t is None else t.shape[0] for t in tables], dtype=np.int64)
    padded = np.zeros((limit + 1, max(int(rows.max()), 1), max(limit, 1)), dtype=np.int64)
    for size, table in enumerate(tables):
        if table is not None:
            padded[size, : table.shape[0], :size] = table
    return padded, rows


@lru_cache(maxsize=64)
def grid_topology(height: int, width: int) -> np.ndarray:
    """The (3, n, degree) neighbour lists of a ``height x width`` 4-connected grid."""
    starts, ends = grid_edges(height, width)
    return adjacency(height * width, starts, ends)


def solve_compiled(
    solver: _PartitionSolver, init_labels: np.ndarray, *, passes: list | None = None
) -> tuple[np.ndarray, float]:
    """:meth:`comixup.solver._PartitionSolver.solve` in one call of :func:`solve_kernel`;
    ``passes``, when given, receives the start and every pass's labeling."""
    config, coefficients, grid = solver.config, solver.coefficients, solver.grid
    n_output = init_labels.shape[0]
    # No more candidates than inputs: the templates stay as small as the problem allows.
    limit = min(config.mix_candidates, solver.n_inputs)
    templates, rows = _templates(config.n_levels, limit)
    z = np.empty((n_output, grid.n_blocks, solver.n_inputs))
    # keep_best compares f between passes; ties between different labelings (symmetric
    # problems) are decided by rounding, so the choice is made here with the per-step
    # solver's own objective_np rather than with the kernel's differently summed f.
    recorded = config.keep_best or passes is not None
    history = np.empty((config.n_iter + 1 if recorded else 0, *z.shape))
    status, f, n_passes = solve_kernel(
        solver.unary,
        np.ascontiguousarray(solver.A),
        np.ascontiguousarray(init_labels, dtype=np.int64),
        grid_topology(grid.height, grid.width),
        solver.edge_weights,
        float(solver.scale),
        np.array([coefficients.beta, coefficients.gamma, coefficients.tau]),
        np.array(
            [solver.units, config.n_iter, config.resolve, limit, solver.official_mask],
            dtype=np.int64,
        ),
        templates,
        rows,
        z,
        history,
    )
    if status == OVER_INT32:
        raise ValueError(
            "graph-cut energies left int32; scale them with energy_scale(largest unary term, "
            "largest edge energy) first."
        )
    if status == NOT_SUBMODULAR:
        raise ValueError("pairwise costs are not submodular for a swap move.")
    if passes is not None:
        passes.extend(history[: n_passes + 1].copy())
    if not config.keep_best:
        return z, float(f)
    best_z, best_f = history[0], solver.objective(history[0])
    for candidate in history[1 : n_passes + 1]:
        value = solver.objective(candidate)
        if value < best_f:
            best_z, best_f = candidate, value
    return best_z.copy(), best_f
