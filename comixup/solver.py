"""Algorithm 1: iterative submodular minimisation with a modular approximation.

For one partition of ``m`` inputs and ``m'`` outputs (Kim et al. 2021, Algorithm 1; the
official ``match.get_onehot_matrix``):

1. draw a random i.i.d. uniform initial labeling and one Dirichlet prior p;
2. for each output j in turn, fix the others and replace the supermodular compatibility term
   by its modular upper bound ``2 gamma' [A v]_i`` (zero where ``[A v]_i <= tau'``), with
   ``v = sum_{j' != j} o_j'``; minimise unary + bound + beta smoothness over the grid by
   alpha-beta swap (``gco.cut_grid_graph``);
3. the first pass uses |L| = 2 (each block takes one input); later passes add, per output,
   soft states that mix that output's currently most assigned inputs in multiples of
   ``1 / (|L| - 1)`` (|L| = 3: half-and-half pairs), so a graph cut has m + O(m_bar^2) states;
4. before the last pass, outputs that came out identical are pushed apart (resolve);
5. stop after ``n_iter`` passes or when the unclipped objective changes by less than 1e-6
   relative between passes (the official test).

It returns the last pass's labeling, as the paper's Algorithm 1 and the official code do: the
resolve pass exists to push identical outputs apart, which f does not see, so that pass may
raise f. ``CoMixupConfig.keep_best`` instead keeps the best labeling seen by the clipped f (the
start included, so never worse than the start): not the paper's algorithm, reported beside it
in Tables 2 and 3. With the
compiled backend all passes of one start run in one numba call
(``comixup.compiled_solver.solve_kernel``); ``_PartitionSolver.solve_stepwise`` is the same
loop in NumPy around one swap per output step (GCO's path, and the kernel's reference). Both
hand the swap integer energies: GCO works on integers, and scaling them here (instead of
pyGCO's fixed 2-3 digit float conversion) keeps the smoothness exact.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import torch

from comixup.config import CoMixupConfig
from comixup.graphcut import energy_scale, to_int32
from comixup.labeling import Swap, make_swap, resolve_backend
from comixup.objective import (
    ScaledCoefficients,
    check_problem,
    objective_np,
    prior_cost,
    scaled_coefficients,
)

_RELATIVE_TOLERANCE = 1e-6
_PRICE_DOUBLINGS = 40
_PRICE_BISECTIONS = 16
"""Early stop when f changes by less than this, relative (official ``get_onehot_matrix``)."""


def numpy_rng(generator: torch.Generator | None) -> np.random.Generator:
    """A NumPy generator seeded from ``generator`` (or torch's global one when None)."""
    seed = torch.randint(0, 2**62, (1,), generator=generator).item()
    return np.random.default_rng(seed)


@lru_cache(maxsize=64)
def mixture_template(n_candidates: int, n_levels: int) -> np.ndarray:
    """Integer weights (in units of 1/(|L|-1)) of every soft state over ``n_candidates`` inputs.

    A soft state splits the |L| - 1 units of a block among at least two candidates; the pure
    states are the plain labels already present. Shape (n_states, n_candidates).
    """
    units = n_levels - 1
    rows = []
    for combo in itertools.combinations_with_replacement(range(n_candidates), units):
        row = np.bincount(combo, minlength=n_candidates)
        if row.max() < units:
            rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, n_candidates)


@dataclass(frozen=True)
class _Grid:
    height: int
    width: int

    @property
    def n_blocks(self) -> int:
        return self.height * self.width


class _PartitionSolver:
    """Algorithm 1 on one partition; every array is NumPy, float64 unless stated."""

    def __init__(
        self,
        unary: np.ndarray,
        A: np.ndarray,
        grid: _Grid,
        coefficients: ScaledCoefficients,
        config: CoMixupConfig,
        init_outputs: int,
        *,
        stepwise: bool = False,
    ) -> None:
        self.unary = unary  # (n, m): cost of each input at each block, prior included
        self.A = A
        self.grid = grid
        self.coefficients = coefficients
        self.config = config
        self.n_inputs = unary.shape[1]
        self.identity = np.eye(self.n_inputs)
        units = config.n_levels - 1
        self.units = units
        self.plain_states = self.identity * units
        # GCO works on int32 energies: one scale per partition, from a bound on any unary the
        # passes can produce (cost, prior, the largest possible penalty, the resolve cost).
        pressure_bound = np.abs(A).sum(1).max() * grid.n_blocks * max(init_outputs - 1, 1)
        bound = (
            np.abs(unary).max() + coefficients.gamma * (2 * pressure_bound + 1) + coefficients.beta
        )
        self.scale = energy_scale(bound, coefficients.beta)  # beta' = largest edge energy
        # States are integer weights in units of 1/units, so ||z_k - z_k'||^2 is an integer
        # number of 1/units^2; beta'/2 times that per unit is the edge weight.
        edge_weight = round(coefficients.beta / (2 * units**2) * self.scale)
        n_edges = (grid.height - 1) * grid.width + grid.height * (grid.width - 1)
        self.edge_weights = np.full(n_edges, edge_weight, dtype=np.intc)
        self._pairwise_cache: dict[bytes, np.ndarray] = {}
        self.stepwise = stepwise or resolve_backend(config.labeling_backend) == "gco"
        self.official_mask = False
        """Mask A's columns as the official ``match.py`` does (compiled path; analysis only)."""

    @cached_property
    def plain_pairwise(self) -> np.ndarray:
        """The plain states' pairwise table (the per-step path; the kernel builds its own)."""
        return _squared_distances(self.plain_states)

    @cached_property
    def swap(self) -> Swap:
        """The alpha-beta swap of the per-step path and of :meth:`capped_start`."""
        return make_swap(self.grid.height, self.grid.width, self.config.labeling_backend)

    def objective(self, z: np.ndarray, *, clipped: bool = True) -> float:
        return objective_np(
            self.unary,
            z,
            self.A,
            (self.grid.height, self.grid.width),
            self.coefficients,
            clipped=clipped,
        )

    def solve(self, init_labels: np.ndarray) -> tuple[np.ndarray, float]:
        """Run the passes from ``init_labels`` (m', n) ints; return z and its clipped f.

        z is the last pass's labeling, as Algorithm 1 and the official ``get_onehot_matrix``
        return it, or with ``config.keep_best`` the best one seen by f (the start included).
        The compiled backend runs all of it in :func:`comixup.compiled_solver.solve_kernel`;
        GCO (or ``stepwise``) output step by output step in :meth:`solve_stepwise`.
        """
        if self.stepwise:
            return self.solve_stepwise(init_labels)
        from comixup.compiled_solver import solve_compiled

        return solve_compiled(self, init_labels)

    def solve_stepwise(self, init_labels: np.ndarray) -> tuple[np.ndarray, float]:
        """:meth:`solve` in Python, one swap call per output step: the reference of the
        compiled kernel, which makes the same steps and gives the same labels."""
        config = self.config
        n_output = init_labels.shape[0]
        z = self.identity[init_labels]  # (m', n, m)
        counts = z.sum(1)
        total = counts.sum(0)
        f = self.objective(z)
        best_z, best_f = z.copy(), f
        # The official early stop compares the unclipped objective between passes.
        previous = self.objective(z, clipped=False)
        resolve_cost = None
        cache: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * n_output
        for iteration in range(config.n_iter):
            for j in range(n_output):
                penalty = self._modular_penalty(total - counts[j])
                if resolve_cost is not None:
                    penalty = penalty + self.coefficients.gamma * resolve_cost[j]
                states = self._states(counts[j], extend=iteration > 0)
                labels, cache[j] = self._cut(self.unary + penalty, states, cache[j])
                z[j] = states[labels] / self.units
                total += z[j].sum(0) - counts[j]
                counts[j] = z[j].sum(0)
            if config.resolve and iteration == config.n_iter - 2:
                resolve_cost = resolve_identical(counts)
            f = self.objective(z)
            if f < best_f:
                best_z, best_f = z.copy(), f
            current = self.objective(z, clipped=False)
            if abs(previous - current) < _RELATIVE_TOLERANCE * abs(current):
                break
            previous = current
        return (best_z, best_f) if config.keep_best else (z, f)

    def _modular_penalty(self, others: np.ndarray) -> np.ndarray:
        """The modular upper bound of the compatibility term for one output, per input:
        ``2 gamma' [A v]_i`` where ``[A v]_i > tau'``, else 0 (``v`` the other outputs' counts)."""
        pressure = self.A @ others
        return np.where(
            pressure > self.coefficients.tau, 2 * self.coefficients.gamma * pressure, 0.0
        )

    def capped_start(self, n_output: int) -> np.ndarray:
        """A start where every output shares one labeling whose input counts keep the others'
        compatibility pressure at or under tau' where possible.

        Single-output graph cuts with an extra per-block price on each input that would push
        the pressure over the threshold; the smallest such price is found by bisection. This
        reaches optima of the clipped objective that the modular steps cannot walk to from a
        random start (outputs sharing inputs just under the threshold).
        """
        plain = self.plain_states
        price = np.zeros(self.n_inputs)
        price_scale = max(float(np.abs(self.unary).max()), 1e-6)

        def cut(extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            labels, _ = self._cut(self.unary + extra, plain, None)
            counts = np.bincount(labels, minlength=self.n_inputs).astype(np.float64)
            return labels, (n_output - 1) * (self.A @ counts) > self.coefficients.tau

        labels, over = cut(price)
        for _ in range(self.n_inputs):
            if not over.any():
                break
            crowded = int(np.flatnonzero(over)[0])
            low, high = 0.0, price_scale
            trial = price.copy()
            for _ in range(_PRICE_DOUBLINGS):
                trial[crowded] = price[crowded] + high
                if not cut(trial)[1][crowded]:
                    break
                low, high = high, 2 * high
            for _ in range(_PRICE_BISECTIONS):
                trial[crowded] = price[crowded] + (low + high) / 2
                if cut(trial)[1][crowded]:
                    low = (low + high) / 2
                else:
                    high = (low + high) / 2
            price[crowded] += high
            labels, over = cut(price)
        return np.tile(labels, (n_output, 1))

    def _states(self, counts: np.ndarray, *, extend: bool) -> np.ndarray:
        """Integer weights (units of 1/(|L|-1)) of the states of one output, (n_states, m)."""
        plain = self.plain_states
        if not extend or self.units == 1:
            return plain
        assigned = np.flatnonzero(counts > 0)
        if assigned.size < 2:
            return plain
        # The most assigned inputs first; a stable sort breaks ties by input index.
        order = np.argsort(-counts[assigned], kind="stable")
        candidates = assigned[order[: self.config.mix_candidates]]
        template = mixture_template(candidates.size, self.config.n_levels)
        mixed = np.zeros((template.shape[0], self.n_inputs))
        mixed[:, candidates] = template
        return np.concatenate([plain, mixed])

    def _cut(
        self,
        unary: np.ndarray,
        states: np.ndarray,
        cached: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Alpha-beta swap over ``states``; reuses the last result when nothing changed."""
        plain = states is self.plain_states
        state_unary = unary if plain else unary @ states.T / self.units  # (n, n_states)
        unary_int = to_int32(state_unary * self.scale)
        if (
            cached is not None
            and cached[1].shape == unary_int.shape
            and np.array_equal(cached[1], unary_int)
            and np.array_equal(cached[2], states)
        ):
            return cached[0], cached
        if states is self.plain_states:
            pairwise = self.plain_pairwise
        else:
            key = states.tobytes()
            pairwise = self._pairwise_cache.get(key)
            if pairwise is None:
                pairwise = self._pairwise_cache.setdefault(key, _squared_distances(states))
        labels = self.swap(unary_int, pairwise, self.edge_weights)
        return labels, (labels, unary_int, states)


def _squared_distances(states: np.ndarray) -> np.ndarray:
    """Integer ||s_a - s_b||^2 between the rows of integer-valued ``states``, as int32."""
    whole = states.astype(np.int64)
    norms = np.square(whole).sum(1)
    return (norms[:, None] + norms[None, :] - 2 * whole @ whole.T).astype(np.intc)


def resolve_identical(counts: np.ndarray) -> np.ndarray:
    """Extra unit costs that push apart outputs using exactly the same set of inputs.

    For each pair j < j' of outputs whose assigned-input sets coincide and hold more than one
    input, output j pays for its first input and output j' for its second (official
    ``resolve_label``). Returns an (m', m) array of 0/1 costs, scaled by gamma' by the caller.
    """
    assigned = counts > 0
    extra = np.zeros_like(counts)
    n_output = counts.shape[0]
    for first in range(n_output):
        inputs = np.flatnonzero(assigned[first])
        if inputs.size < 2:
            continue
        for second in range(first + 1, n_output):
            if np.array_equal(assigned[first], assigned[second]):
                extra[first, inputs[0]] = 1.0
                extra[second, inputs[1]] = 1.0
    return extra


def check_tensors(cost: torch.Tensor, A: torch.Tensor, n_output: int) -> None:
    """Raise a ValueError for a cost or A that is not a finite float tensor, an A with negative
    entries, or no outputs."""
    for name, value in (("cost", cost), ("A", A)):
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
        if not value.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {value.dtype}.")
        if not torch.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or inf values; pass finite numbers.")
    if (A < 0).any():
        raise ValueError(
            "A has negative entries; a compatibility matrix is non-negative (Algorithm 1's "
            "modular bound needs it), e.g. compatibility_matrix(salient_distances(s), omega)."
        )
    if isinstance(n_output, bool) or not isinstance(n_output, numbers.Integral) or n_output < 1:
        raise ValueError(f"n_output must be at least 1 (an integer), got {n_output!r}.")


def draw_prior(n_inputs: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """One draw p ~ Dirichlet(alpha, ..., alpha) over the inputs: the label prior."""
    return rng.dirichlet(np.full(n_inputs, alpha))


def solve_labeling(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    generator: torch.Generator | None = None,
    *,
    prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """Solve Algorithm 1 for one partition.

    Args:
        cost: unary cost of each input at each grid block, shape (m, h, w); Co-Mixup passes
            minus the normalised saliency.
        A: compatibility matrix, shape (m, m).
        n_output: number of mixed outputs m' (may differ from m).
        config: hyperparameters.
        generator: drives every random draw (initial labeling, Dirichlet prior).
        prior: a fixed Dirichlet draw p of shape (m,) instead of a random one.

    Returns:
        Block weights z of shape (n_output, h, w, m), each block summing to 1, on cost's
        device and in cost's dtype.
    """
    problem = PartitionProblem.from_tensors(cost, A, n_output, generator, prior=prior)
    return problem.to_tensor(problem.solve(config), cost)


@dataclass(frozen=True)
class PartitionProblem:
    """One partition's checked NumPy inputs and its own random generator, ready to solve on
    any thread (see ``comixup.parallel``)."""

    cost: np.ndarray
    A: np.ndarray
    n_output: int
    rng: np.random.Generator
    prior: np.ndarray | None

    @classmethod
    def from_tensors(
        cls,
        cost: torch.Tensor,
        A: torch.Tensor,
        n_output: int,
        generator: torch.Generator | None,
        *,
        prior: torch.Tensor | None = None,
    ) -> PartitionProblem:
        """Check the inputs of :func:`solve_labeling` and draw the partition's seed."""
        check_tensors(cost, A, n_output)
        cost_np = cost.detach().to("cpu", torch.float64).numpy()
        A_np = A.detach().to("cpu", torch.float64).numpy()
        check_problem(cost_np, A_np)
        rng = numpy_rng(generator)
        return cls(cost_np, A_np, n_output, rng, _prior_np(prior, cost_np.shape[0]))

    def solve(self, config: CoMixupConfig) -> np.ndarray:
        """z of shape (n_output, n, m); see :func:`solve_partition`."""
        z, _ = solve_partition(self.cost, self.A, self.n_output, config, self.rng, prior=self.prior)
        return z

    def to_tensor(self, z: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """z as (n_output, h, w, m) on ``like``'s device and in its dtype."""
        m, height, width = self.cost.shape
        return torch.from_numpy(z.reshape(self.n_output, height, width, m)).to(
            like.device, like.dtype
        )


def _prior_np(prior: torch.Tensor | None, n_inputs: int) -> np.ndarray | None:
    if prior is None:
        return None
    prior_np = prior.detach().to("cpu", torch.float64).numpy()
    if prior_np.shape != (n_inputs,) or not np.all(prior_np >= 0):
        raise ValueError(
            f"prior must be a non-negative vector of shape ({n_inputs},), "
            f"got shape {tuple(prior_np.shape)}."
        )
    return prior_np


def partition_passes(
    cost: np.ndarray,
    A: np.ndarray,
    init_labels: np.ndarray,
    config: CoMixupConfig,
    *,
    official_mask: bool = False,
) -> list[np.ndarray]:
    """The start and every pass's labeling (m', n, m) of one compiled solve from
    ``init_labels`` (m', n), for analysis (``benchmarks.analysis.official_solver``).

    ``cost`` (m, h, w) holds any prior already (config.eta is not used); ``official_mask``
    applies the compatibility threshold's mask to A's columns, as the official ``match.py``
    does (``(mask * A) @ v``), instead of the paper's rows.
    """
    m, height, width = cost.shape
    grid = _Grid(height, width)
    coefficients = scaled_coefficients(config, grid.n_blocks)
    unary = np.ascontiguousarray(cost.reshape(m, grid.n_blocks).T)
    solver = _PartitionSolver(unary, A, grid, coefficients, config, init_labels.shape[0])
    solver.official_mask = official_mask
    from comixup.compiled_solver import solve_compiled

    passes: list[np.ndarray] = []
    solve_compiled(solver, init_labels, passes=passes)
    return passes


def solve_partition(
    cost: np.ndarray,
    A: np.ndarray,
    n_output: int,
    config: CoMixupConfig,
    rng: np.random.Generator,
    *,
    prior: np.ndarray | None = None,
    init_labels: np.ndarray | None = None,
    stepwise: bool = False,
) -> tuple[np.ndarray, float]:
    """NumPy core of :func:`solve_labeling`: z of shape (m', n, m) and its objective f.

    ``cost`` is (m, h, w). With ``config.restarts`` > 1 the solver starts from that many random
    labelings, and with ``config.capped_start`` also from :meth:`_PartitionSolver.capped_start`;
    it keeps the best. ``init_labels`` (n_starts, m', n) fixes the random starts. ``stepwise``
    runs the compiled backend's passes output step by output step in Python
    (:meth:`_PartitionSolver.solve_stepwise`, the reference of the compiled kernel).
    """
    m, height, width = cost.shape
    grid = _Grid(height, width)
    coefficients = scaled_coefficients(config, grid.n_blocks)
    if m == 1:
        # One input leaves nothing to mix (and GCO needs two labels): every block takes it.
        z = np.ones((n_output, grid.n_blocks, 1))
        unary = cost.reshape(1, grid.n_blocks).T
        return z, objective_np(unary, z, A, (height, width), coefficients, clipped=True)
    unary = cost.reshape(m, grid.n_blocks).T
    if config.eta > 0:
        if prior is None:
            prior = draw_prior(m, config.alpha, rng)
        unary = unary + prior_cost(prior, coefficients.eta)
    unary = np.ascontiguousarray(unary)
    if init_labels is None:
        init_labels = rng.integers(0, m, size=(config.restarts, n_output, grid.n_blocks))
    solver = _PartitionSolver(unary, A, grid, coefficients, config, n_output, stepwise=stepwise)
    if config.capped_start:
        init_labels = np.concatenate([init_labels, solver.capped_start(n_output)[None]])
    results = [solver.solve(start) for start in init_labels]
    if len(results) == 1:
        return results[0]
    if not solver.stepwise:
        # The best start by the per-step path's own f: equal f (symmetric starts) is a tie
        # that rounding decides, and the kernel sums f in another order.
        results = [(z, solver.objective(z)) for z, _ in results]
    return min(results, key=lambda result: result[1])
