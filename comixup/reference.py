"""Reference solutions of the Co-Mixup labeling problem, for checking Algorithm 1.

- :func:`brute_force`: the exact minimum of f over all hard labelings (supplement Table 2).
- :func:`random_guess`: the mean of f over uniformly random hard labelings (Table 2's
  baseline, and the denominator of the relative error).
- :func:`narasimhan_bilmes`: the submodular-supermodular procedure of Narasimhan and Bilmes
  (UAI 2005) on the same objective (supplement Tables 3-4).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import torch

from comixup.config import CoMixupConfig
from comixup.graphcut import GridSwap, energy_scale, grid_edges, to_int32
from comixup.objective import (
    ScaledCoefficients,
    check_problem,
    compatibility_term,
    objective_np,
    prior_cost,
    scaled_coefficients,
)
from comixup.solver import check_tensors, draw_prior, numpy_rng

MAX_BRUTE_FORCE_LABELINGS = 50_000_000
"""Above this many joint labelings brute force refuses: it is meant for tiny problems."""
_CHUNK = 100_000
_CHAIN_CHUNK = 4096
"""Chain elements per vectorised block when summing the modular bound's prefix pressures."""
_RELATIVE_TOLERANCE = 1e-6
"""A step that improves f by less than this, relative, ends the procedure (as Algorithm 1)."""


class ReferenceResult(NamedTuple):
    """A labeling z of shape (n_output, h, w, m) and its objective value f."""

    z: torch.Tensor
    value: float


def _problem(cost, A, config, prior):
    cost_np = np.asarray(torch.as_tensor(cost).detach().cpu(), dtype=np.float64)
    A_np = np.asarray(torch.as_tensor(A).detach().cpu(), dtype=np.float64)
    check_problem(cost_np, A_np)
    m, height, width = cost_np.shape
    coefficients = scaled_coefficients(config, height * width)
    unary = cost_np.reshape(m, -1).T
    if prior is not None:
        prior_np = np.asarray(torch.as_tensor(prior).detach().cpu(), dtype=np.float64)
        unary = unary + prior_cost(prior_np, coefficients.eta)
    return unary, A_np, (height, width), coefficients


def brute_force(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    *,
    prior: torch.Tensor | None = None,
    clipped: bool = True,
) -> ReferenceResult:
    """The exact minimum of f over every hard labeling (each block takes one input).

    Enumerates the ``m ** n`` labelings of one output once (its unary, smoothness and input
    counts), then every joint choice of ``n_output`` of them in vectorised chunks.

    Raises:
        ValueError: when there are more than ``MAX_BRUTE_FORCE_LABELINGS`` joint labelings.
    """
    if n_output < 1:
        raise ValueError(f"n_output must be at least 1, got {n_output}.")
    unary, A_np, grid, coefficients = _problem(cost, A, config, prior)
    n_blocks, m = unary.shape
    per_output = m**n_blocks
    joint = per_output**n_output
    if joint > MAX_BRUTE_FORCE_LABELINGS:
        raise ValueError(
            f"brute force would enumerate {joint:.3g} labelings (m={m}, n_output={n_output}, "
            f"{n_blocks} blocks); it is limited to {MAX_BRUTE_FORCE_LABELINGS:.0e}. "
            "Use a smaller problem, or compare against random_guess."
        )
    labelings = np.array(list(itertools.product(range(m), repeat=n_blocks)))  # (K, n)
    onehot = np.eye(m)[labelings]  # (K, n, m)
    single = np.array(
        [objective_np(unary, z[None], A_np, grid, coefficients, clipped=False) for z in onehot]
    )  # unary + smoothness of one output alone (no compatibility with itself)
    counts = onehot.sum(1)  # (K, m)
    tau = coefficients.tau if clipped else None
    best_value, best_index = np.inf, 0
    for start in range(0, joint, _CHUNK):
        index = np.arange(start, min(start + _CHUNK, joint))
        digits = np.stack(
            [(index // per_output**j) % per_output for j in range(n_output)], axis=1
        )  # (chunk, m')
        values = single[digits].sum(1) + compatibility_term(
            counts[digits], A_np, coefficients.gamma, tau
        )
        position = int(np.argmin(values))
        if values[position] < best_value:
            best_value, best_index = float(values[position]), int(index[position])
    chosen = [(best_index // per_output**j) % per_output for j in range(n_output)]
    z = onehot[chosen].reshape(n_output, *grid, m)
    return ReferenceResult(torch.from_numpy(z), best_value)


def random_guess(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    generator: torch.Generator | None = None,
    *,
    n_samples: int = 1000,
    prior: torch.Tensor | None = None,
    clipped: bool = True,
) -> float:
    """Mean f over ``n_samples`` labelings whose blocks each take a uniformly random input."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
    unary, A_np, grid, coefficients = _problem(cost, A, config, prior)
    n_blocks, m = unary.shape
    rng = numpy_rng(generator)
    labels = rng.integers(0, m, size=(n_samples, n_output, n_blocks))
    return float(np.mean(_hard_objectives(labels, unary, A_np, grid, coefficients, clipped)))


def _hard_objectives(labels, unary, A, grid, coefficients, clipped) -> np.ndarray:
    """f of each hard labeling in ``labels`` (S, m', n) of input indices, shape (S,).

    Works on the indices (no one-hot arrays), so it stays cheap at m = 100.
    """
    n_samples, n_output, n_blocks = labels.shape
    m = unary.shape[1]
    unary_values = unary[np.arange(n_blocks), labels].sum((1, 2))
    height, width = grid
    blocks = labels.reshape(n_samples, n_output, height, width)
    # Two different hard labels differ by ||e_a - e_b||^2 = 2.
    changes = (blocks[:, :, 1:] != blocks[:, :, :-1]).sum((1, 2, 3)) + (
        blocks[:, :, :, 1:] != blocks[:, :, :, :-1]
    ).sum((1, 2, 3))
    smooth_values = coefficients.beta / 2 * 2 * changes
    rows = (np.arange(n_samples * n_output) * m).reshape(n_samples, n_output, 1)
    counts = np.bincount((rows + labels).ravel(), minlength=n_samples * n_output * m)
    counts = counts.reshape(n_samples, n_output, m).astype(np.float64)
    tau = coefficients.tau if clipped else None
    compat_values = compatibility_term(counts, A, coefficients.gamma, tau)
    return unary_values + smooth_values + compat_values


def narasimhan_bilmes(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    generator: torch.Generator | None = None,
    *,
    prior: torch.Tensor | None = None,
    init_labels: torch.Tensor | np.ndarray | None = None,
    max_steps: int | None = None,
    trace: list[float] | None = None,
) -> torch.Tensor:
    """The submodular-supermodular procedure (Narasimhan and Bilmes, UAI 2005) for f.

    NB minimise ``f = g - h`` with g, h submodular: at the current solution ``X_t`` they draw a
    permutation of the ground set whose first ``|X_t|`` elements are ``X_t``, replace h by the
    modular function ``h_pi(e) = h(S_r) - h(S_{r-1})`` of that chain (``S_r`` the first r
    elements, ``e`` the r-th), which lower-bounds h and equals it at ``X_t``, minimise the
    submodular ``g - h_pi`` and repeat until nothing improves. Here:

    - ground set: the binary variables ``z[j, k, i]`` (output j, block k, input i); a hard
      labeling is a set ``X`` with exactly one element per (j, k). The procedure searches hard
      labelings only (NB is a set-function method; Algorithm 1's soft blocks have no analogue).
    - ``g``: unary (cost and eta prior) plus beta smoothness, a Potts term per output;
      ``-h``: the compatibility ``gamma' sum_{j != j'} o_j^T A o_j'``, a quadratic with
      non-negative weights across outputs, hence supermodular. Its chain marginal for
      ``e = (j, k, i)`` is ``2 gamma' [A w_e]_i`` (A symmetric, as Co-Mixup's is; otherwise
      its symmetric part ``(A + A^T) / 2`` is used), where ``w_e`` counts the
      inputs of the chain elements before ``e`` that belong to other outputs; for ``e`` in
      ``X_t`` those are the earlier elements of ``X_t``, for ``e`` outside ``X_t`` all of
      ``X_t`` plus the outside elements drawn earlier. So the bound is per (j, k, i).
    - the threshold (f here is the clipped objective, as in Table 2): the clipped term is not
      supermodular (its jump at tau' breaks increasing marginals), so no modular function of a
      chain bounds it exactly. tau' enters the bound the way it enters Algorithm 1's modular
      step, applied to each element's chain pressure: the cost of ``e`` is
      ``2 gamma' [A w_e]_i`` where ``[A w_e]_i > tau'`` and 0 elsewhere. Algorithm 1 uses the
      same expression with ``w`` the full counts of the other outputs, one output at a time;
      NB prices all outputs at once from one random chain.
    - minimising ``g + bound``: it separates over outputs; each output is a unary (cost +
      prior + bound) plus Potts problem, solved by alpha-beta swap (:class:`GridSwap`, integer
      energies as in the solver; costs that cannot win a block against its cheapest label plus
      every neighbour's smoothness are capped so that int32 holds them). An output keeps its
      old labeling where the swap's result is not cheaper under the bound.

    Because the thresholded bound is not exact (and alpha-beta swap is not an exact minimiser
    beyond two labels), a step's labeling can be worse in f; the step then keeps the old
    labeling and the procedure stops. So f never increases from one step to
    the next and the result is no worse than the start. It also stops when a step improves f
    by less than 1e-6 relative (Algorithm 1's rule), or after ``max_steps`` steps.

    Args:
        cost: unary cost per input and block, shape (m, h, w).
        A: compatibility matrix, shape (m, m), symmetric.
        n_output: number of outputs m'.
        config: coefficients beta, gamma, eta, tau and the prior's alpha.
        generator: drives the initial labeling (i.i.d. uniform, as Algorithm 1), the Dirichlet
            prior when ``prior`` is None and eta > 0, and every step's random chain.
        prior: a fixed Dirichlet draw p of shape (m,).
        init_labels: a fixed initial labeling, input indices of shape (n_output, h, w).
        max_steps: stop after this many steps (None: only when nothing improves).
        trace: when given, f of the start and then of the labeling kept after each step are
            appended to it (non-increasing).

    Returns:
        Block weights z of shape (n_output, h, w, m), one-hot per block, on cost's device and
        in cost's dtype, like ``solve_labeling``.
    """
    check_tensors(cost, A, n_output)
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"max_steps must be non-negative or None, got {max_steps}.")
    m, height, width = cost.shape
    rng = numpy_rng(generator)
    if prior is None and config.eta > 0:
        prior = torch.from_numpy(draw_prior(m, config.alpha, rng))
    unary, A_np, grid, coefficients = _problem(cost, A, config, prior)
    n_blocks = height * width
    if init_labels is None:
        labels = rng.integers(0, m, size=(n_output, n_blocks))
    else:
        labels = np.asarray(torch.as_tensor(init_labels).cpu(), dtype=np.int64)
        if labels.shape != (n_output, height, width) or labels.min() < 0 or labels.max() >= m:
            raise ValueError(
                f"init_labels must hold input indices in [0, {m}) of shape "
                f"({n_output}, {height}, {width}), got shape {tuple(labels.shape)}."
            )
        labels = labels.reshape(n_output, n_blocks)
    procedure = _SubmodularSupermodular(unary, A_np, grid, coefficients)
    labels = procedure.run(labels, rng, max_steps, trace)
    z = np.eye(m)[labels].reshape(n_output, height, width, m)
    return torch.from_numpy(z).to(cost.device, cost.dtype)


class _SubmodularSupermodular:
    """The NB steps on one problem; labels are (m', n) input indices, everything NumPy."""

    def __init__(
        self,
        unary: np.ndarray,
        A: np.ndarray,
        grid: tuple[int, int],
        coefficients: ScaledCoefficients,
    ) -> None:
        self.unary = unary  # (n, m), prior included
        self.A = A
        self.A_sym = (A + A.T) / 2  # the unclipped term only sees the symmetric part
        self.grid = grid
        self.coefficients = coefficients
        self.n_blocks, self.n_inputs = unary.shape
        self.edges = grid_edges(*grid)
        degree = np.bincount(np.concatenate(self.edges), minlength=self.n_blocks)
        self.max_degree = int(degree.max()) if degree.size else 0
        self.pairwise = (2 * (1 - np.eye(self.n_inputs))).astype(np.intc)  # ||e_a - e_b||^2

    def objective(self, labels: np.ndarray) -> float:
        z = np.eye(self.n_inputs)[labels]
        return objective_np(self.unary, z, self.A, self.grid, self.coefficients, clipped=True)

    def run(
        self,
        labels: np.ndarray,
        rng: np.random.Generator,
        max_steps: int | None,
        trace: list[float] | None,
    ) -> np.ndarray:
        value = self.objective(labels)
        if trace is not None:
            trace.append(value)
        if self.n_inputs == 1:
            return labels  # one input: the only labeling
        steps = 0
        while max_steps is None or steps < max_steps:
            steps += 1
            candidate = self.step(labels, rng)
            candidate_value = self.objective(candidate)
            gain = value - candidate_value
            if gain > 0:  # keep the better of the old and the new labeling
                labels, value = candidate, candidate_value
            if trace is not None:
                trace.append(value)
            if gain <= _RELATIVE_TOLERANCE * max(abs(value), 1e-12):
                break
        return labels

    def step(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Minimise g + the chain bound at ``labels``; one alpha-beta swap per output."""
        bound = self.modular_bound(labels, rng)  # (m', n, m)
        beta = self.coefficients.beta
        costs = self.unary[None] + bound
        # A label dearer than the block's cheapest one plus every edge's Potts cost can never
        # be part of a swap optimum there; capping such costs keeps the int32 range usable.
        cap = costs.min(-1, keepdims=True) + self.max_degree * beta + 1.0
        capped = np.minimum(costs, cap)
        scale = energy_scale(float(np.abs(capped).max()), beta)  # Potts edges: beta at most
        swap = GridSwap(*self.grid)
        edge_weights = swap.uniform_weights(round(beta / 2 * scale))
        result = labels.copy()
        for j in range(labels.shape[0]):
            new = swap(to_int32(capped[j] * scale), self.pairwise, edge_weights).astype(np.int64)
            if self._bound_value(costs[j], new) < self._bound_value(costs[j], labels[j]):
                result[j] = new
        return result

    def _bound_value(self, costs: np.ndarray, labels: np.ndarray) -> float:
        """Unary + bound + Potts smoothness of one output's labels (the surrogate for it)."""
        starts, ends = self.edges
        changes = np.count_nonzero(labels[starts] != labels[ends])
        blocks = np.arange(self.n_blocks)
        return float(costs[blocks, labels].sum() + self.coefficients.beta * changes)

    def modular_bound(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per-(j, k, i) costs of the thresholded chain bound at ``labels``, shape (m', n, m).

        The chain is ``X_t`` in random order, then every other (j, k, i) in random order.
        """
        n_output, n_blocks = labels.shape
        m = self.n_inputs
        chosen = np.zeros((n_output, n_blocks, m), dtype=bool)
        outputs, blocks = np.indices((n_output, n_blocks)).reshape(2, -1)
        chosen[outputs, blocks, labels.ravel()] = True
        inside = np.flatnonzero(chosen.ravel())
        outside = np.flatnonzero(~chosen.ravel())
        chain = np.concatenate([rng.permutation(inside), rng.permutation(outside)])
        chain_output, _, chain_input = np.unravel_index(chain, chosen.shape)
        # [A w_e]_i: every earlier element minus the earlier ones of e's own output.
        pressure = _prefix_pressure(chain_input, self.A_sym)
        by_output = np.argsort(chain_output, kind="stable")  # keeps chain order per output
        bounds = np.searchsorted(chain_output[by_output], np.arange(n_output + 1))
        for j in range(n_output):
            members = by_output[bounds[j] : bounds[j + 1]]
            pressure[members] -= _prefix_pressure(chain_input[members], self.A_sym)
        gamma, tau = self.coefficients.gamma, self.coefficients.tau
        marginal = np.where(pressure > tau, 2 * gamma * pressure, 0.0)
        bound = np.empty(chosen.size)
        bound[chain] = marginal
        return bound.reshape(chosen.shape)


def _prefix_pressure(inputs: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``sum_{s < r} A[i_r, i_s]`` for each position r of the input sequence ``inputs``."""
    result = np.empty(inputs.size)
    running = np.zeros(A.shape[0])  # A @ (counts of the inputs so far)
    for begin in range(0, inputs.size, _CHAIN_CHUNK):
        chunk = inputs[begin : begin + _CHAIN_CHUNK]
        columns = A[:, chunk]  # column s is A[:, i_s]
        before = np.cumsum(columns, axis=1) - columns
        result[begin : begin + chunk.size] = running[chunk] + before[chunk, np.arange(chunk.size)]
        running += columns.sum(1)
    return result
