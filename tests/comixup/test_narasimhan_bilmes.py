"""The Narasimhan-Bilmes submodular-supermodular procedure (supplement Tables 3-4)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from benchmarks.analysis import table2
from comixup import CoMixupConfig, objective, solve_labeling
from comixup.reference import brute_force, narasimhan_bilmes, random_guess


def random_problem(seed: int, m: int, grid: tuple[int, int]):
    """Un-normalised uniform costs, a symmetric non-negative A that is not the identity, a prior."""
    rng = np.random.default_rng(seed)
    cost = torch.from_numpy(rng.uniform(size=(m, *grid)))
    B = rng.uniform(size=(m, m))
    A = torch.from_numpy(0.7 * np.eye(m) + 0.3 * (B + B.T) / 2)
    prior = torch.from_numpy(rng.dirichlet(np.full(m, 2.0)))
    return cost, A, prior


CASES = [
    # (seed, m, n_output, grid, config)
    (0, 5, 5, (4, 4), CoMixupConfig()),
    (1, 8, 6, (3, 4), CoMixupConfig(tau=0.3)),
    (2, 4, 7, (4, 4), CoMixupConfig(beta=1.5, gamma=2.0)),
    (3, 10, 10, (4, 4), CoMixupConfig(tau=0.0, eta=0.0)),
    (4, 6, 3, (2, 5), CoMixupConfig(gamma=0.0)),
    (5, 20, 20, (4, 4), CoMixupConfig()),
]


@pytest.mark.parametrize(("seed", "m", "n_output", "grid", "config"), CASES)
def test_objective_never_increases_and_ends_no_worse_than_the_start(
    seed, m, n_output, grid, config
):
    cost, A, prior = random_problem(seed, m, grid)
    rng = np.random.default_rng(seed)
    init = torch.from_numpy(rng.integers(0, m, size=(n_output, *grid)))
    trace: list[float] = []

    z = narasimhan_bilmes(
        cost,
        A,
        n_output,
        config,
        torch.Generator().manual_seed(seed),
        prior=prior,
        init_labels=init,
        trace=trace,
    )

    start = objective(cost, torch.eye(m, dtype=cost.dtype)[init], A, config, prior=prior)
    assert trace[0] == pytest.approx(start, rel=1e-12, abs=1e-12)
    assert len(trace) >= 2  # at least one step was taken
    assert all(later <= earlier for earlier, later in itertools.pairwise(trace))
    final = objective(cost, z, A, config, prior=prior)
    assert final == pytest.approx(trace[-1], rel=1e-12, abs=1e-12)
    assert final <= start
    # A hard labeling: one input per block.
    assert z.shape == (n_output, *grid, m)
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(z.sum(-1) == 1)


@pytest.mark.parametrize("seed", range(4))
def test_without_compatibility_one_step_reaches_the_optimum(seed):
    """gamma = 0: the bound vanishes and each output is a two-label Potts problem, which one
    graph cut solves exactly; so f is n_output times the one-output brute-force optimum."""
    cost, A, prior = random_problem(seed, 2, (2, 3))
    config = CoMixupConfig(gamma=0.0, beta=0.8)
    trace: list[float] = []
    z = narasimhan_bilmes(
        cost, A, 3, config, torch.Generator().manual_seed(seed), prior=prior, trace=trace
    )
    optimum = brute_force(cost, A, 1, config, prior=prior).value
    assert objective(cost, z, A, config, prior=prior) == pytest.approx(3 * optimum, rel=1e-9)
    assert len(trace) <= 3  # the first step, then at most one that finds nothing better


def test_fixed_generator_is_deterministic_and_the_generator_is_used():
    cost, A, _ = random_problem(7, 6, (4, 4))
    config = CoMixupConfig()

    def run(seed: int) -> torch.Tensor:
        return narasimhan_bilmes(cost, A, 6, config, torch.Generator().manual_seed(seed))

    assert torch.equal(run(0), run(0))
    assert any(not torch.equal(run(0), run(seed)) for seed in range(1, 5))


def test_max_steps_limits_the_steps():
    cost, A, prior = random_problem(8, 6, (4, 4))
    trace: list[float] = []
    narasimhan_bilmes(cost, A, 6, CoMixupConfig(), prior=prior, max_steps=1, trace=trace)
    assert len(trace) == 2
    trace.clear()
    narasimhan_bilmes(cost, A, 6, CoMixupConfig(), prior=prior, max_steps=0, trace=trace)
    assert len(trace) == 1


def test_keeps_dtype_device_and_handles_one_input():
    z = narasimhan_bilmes(torch.rand(3, 2, 2), torch.eye(3), 2, CoMixupConfig())
    assert z.dtype == torch.float32 and z.device == torch.device("cpu")
    z = narasimhan_bilmes(torch.rand(1, 2, 3), torch.eye(1), 3, CoMixupConfig())
    assert torch.all(z == 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_output": 0}, "n_output must be at least 1"),
        ({"cost": torch.ones(3, 2, 2, dtype=torch.int64)}, "cost must be a floating-point"),
        ({"A": torch.ones(2, 2)}, r"A must be the \(m, m\) compatibility matrix"),
        ({"A": torch.full((3, 3), float("nan"))}, "A contains NaN or inf"),
        ({"init_labels": torch.zeros(2, 2, 3, dtype=torch.int64)}, "init_labels must hold"),
        ({"init_labels": torch.full((2, 2, 2), 3)}, r"input indices in \[0, 3\)"),
        ({"max_steps": -1}, "max_steps must be non-negative"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    arguments = {"cost": torch.rand(3, 2, 2), "A": torch.eye(3), "n_output": 2}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        narasimhan_bilmes(
            arguments.pop("cost"),
            arguments.pop("A"),
            arguments.pop("n_output"),
            CoMixupConfig(),
            **arguments,
        )


SEEDS = 20


@pytest.mark.parametrize("setting", table2.SETTINGS, ids=lambda setting: setting.name)
@pytest.mark.parametrize(("m", "grid"), [(2, 3), (3, 2)])
def test_both_algorithms_against_brute_force(setting, m, grid):
    """Table 2's tiny problems (m = m', A = I), 20 seeds: relative error
    (mean f - mean f_brute) / (mean f_random - mean f_brute).

    Measured when written: Algorithm 1 keeping its best iterate -0.02 .. 0.11, Algorithm 1 as
    published (last iterate) up to 0.21, Narasimhan-Bilmes 0.26 .. 0.49 (30 seeds). The bounds
    state the claims: the best-iterate variant closes at least 80% of the gap between random
    guess and the optimum, the published one at least two thirds, Narasimhan-Bilmes at least a
    quarter, and Algorithm 1 is the better of the two on average. NB searches hard labelings
    only, so on every single problem it is no better than brute force (Algorithm 1's soft
    blocks can be).
    """
    config = setting.config
    rows = []
    for seed in range(SEEDS):
        cost, prior, _ = table2.draw_problem(m, grid, setting, seed)
        A = torch.eye(m, dtype=torch.float64)
        brute = brute_force(cost, A, m, config, prior=prior).value
        guess = random_guess(cost, A, m, config, torch.Generator().manual_seed(seed), prior=prior)
        z_alg1 = solve_labeling(
            cost, A, m, config, torch.Generator().manual_seed(seed), prior=prior
        )
        best_config = dataclasses.replace(config, keep_best=True)
        z_best = solve_labeling(
            cost, A, m, best_config, torch.Generator().manual_seed(seed), prior=prior
        )
        z_nb = narasimhan_bilmes(
            cost, A, m, config, torch.Generator().manual_seed(seed), prior=prior
        )
        alg1 = objective(cost, z_alg1, A, config, prior=prior)
        best = objective(cost, z_best, A, config, prior=prior)
        nb = objective(cost, z_nb, A, config, prior=prior)
        assert nb >= brute - 1e-9
        assert best <= alg1 + 1e-9  # the best iterate is never worse than the last
        rows.append((brute, guess, alg1, best, nb))
    brute, guess, alg1, best, nb = np.mean(rows, axis=0)
    assert guess > brute
    assert (best - brute) / (guess - brute) < 0.2
    assert (alg1 - brute) / (guess - brute) < 1 / 3
    assert (nb - brute) / (guess - brute) < 0.75
    assert alg1 < nb
