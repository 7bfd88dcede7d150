"""Algorithm 1 (`solve_labeling`): valid labelings, never worse than its start, reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from comixup import CoMixupConfig, objective, solve_labeling
from comixup.problems import realistic_problem
from comixup.solver import mixture_template, resolve_identical, solve_partition

grids = st.tuples(st.integers(1, 4), st.integers(1, 4))

configs = st.builds(
    CoMixupConfig,
    beta=st.floats(0.0, 2.0),
    gamma=st.floats(0.0, 2.0),
    eta=st.floats(0.0, 0.5),
    tau=st.floats(0.0, 1.0),
    n_levels=st.integers(2, 4),
    n_iter=st.integers(1, 4),
    resolve=st.booleans(),
    mix_candidates=st.integers(2, 4),
)


def random_problem(seed: int, m: int, grid: tuple[int, int]):
    """Cost (m, h, w) like -normalised saliency plus noise, a symmetric non-negative A, a prior."""
    rng = np.random.default_rng(seed)
    saliency = rng.uniform(size=(m, *grid))
    cost = -saliency / saliency.sum(axis=(1, 2), keepdims=True) + 0.05 * rng.normal(
        size=saliency.shape
    )
    B = rng.uniform(size=(m, m))
    A = 0.5 * np.eye(m) + 0.5 * (B + B.T) / 2
    prior = rng.dirichlet(np.full(m, 2.0))
    return cost, A, prior


def assert_valid_labeling(z: torch.Tensor, n_output: int, grid: tuple[int, int], m: int, n_levels):
    assert z.shape == (n_output, *grid, m)
    assert torch.all(z >= 0)
    torch.testing.assert_close(z.sum(-1), torch.ones(n_output, *grid, dtype=z.dtype))
    units = z * (n_levels - 1)
    torch.testing.assert_close(units, units.round(), rtol=0, atol=1e-6)


@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(2, 6),
    n_output=st.integers(1, 6),
    grid=grids,
    config=configs,
)
def test_blocks_are_valid_mixtures(seed, m, n_output, grid, config):
    cost, A, _ = random_problem(seed, m, grid)
    generator = torch.Generator().manual_seed(seed)
    z = solve_labeling(torch.from_numpy(cost), torch.from_numpy(A), n_output, config, generator)
    assert z.dtype == torch.float64
    assert_valid_labeling(z, n_output, grid, m, config.n_levels)


@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(2, 6),
    n_output=st.integers(1, 6),
    grid=grids,
    config=configs,
    restarts=st.integers(1, 2),
)
def test_best_iterate_never_worse_than_initial_labeling(seed, m, n_output, grid, config, restarts):
    config = dataclasses.replace(config, keep_best=True)
    cost, A, prior = random_problem(seed, m, grid)
    rng = np.random.default_rng(seed)
    n_blocks = grid[0] * grid[1]
    init_labels = rng.integers(0, m, size=(restarts, n_output, n_blocks))

    z, value = solve_partition(
        cost, A, n_output, config, np.random.default_rng(0), prior=prior, init_labels=init_labels
    )

    z = z.reshape(n_output, *grid, m)
    # The value it reports is f of the labeling it returns ...
    assert value == pytest.approx(objective(cost, z, A, config, prior=prior), rel=1e-9, abs=1e-12)
    # ... and no larger than f of any of its (one-hot) starts.
    for start in init_labels:
        z_init = np.eye(m)[start].reshape(n_output, *grid, m)
        assert value <= objective(cost, z_init, A, config, prior=prior) + 1e-12
    assert_valid_labeling(torch.from_numpy(z), n_output, grid, m, config.n_levels)


def test_the_published_algorithm_returns_its_last_pass_not_its_best():
    """Algorithm 1 (and the official ``get_onehot_matrix``) returns the last pass, whose
    resolve step may raise f; ``keep_best`` returns the best labeling seen. On realistic
    problems (20 inputs, 4x4, paper defaults) the two differ on some partitions, and the best
    iterate is never worse."""
    config = CoMixupConfig()
    differ = 0
    for seed in range(12):
        cost, A = (tensor.numpy() for tensor in realistic_problem(seed))
        prior = np.random.default_rng(seed).dirichlet(np.full(20, config.alpha))
        start = np.random.default_rng(seed).integers(0, 20, size=(1, 20, 16))
        last, f_last = solve_partition(
            cost, A, 20, config, np.random.default_rng(0), prior=prior, init_labels=start
        )
        best, f_best = solve_partition(
            cost, A, 20, dataclasses.replace(config, keep_best=True), np.random.default_rng(0),
            prior=prior, init_labels=start,
        )  # fmt: skip
        assert f_best <= f_last + 1e-12
        differ += not np.array_equal(last, best)
    assert differ > 0


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(2, 5), grid=grids, n_output=st.integers(1, 4))
def test_fixed_seed_is_deterministic(seed, m, grid, n_output):
    cost, A, _ = random_problem(seed, m, grid)
    cost, A = torch.from_numpy(cost), torch.from_numpy(A)
    config = CoMixupConfig()
    first = solve_labeling(cost, A, n_output, config, torch.Generator().manual_seed(seed))
    second = solve_labeling(cost, A, n_output, config, torch.Generator().manual_seed(seed))
    assert torch.equal(first, second)


def test_generator_is_used():
    """Fixed seeds 0..5 on one problem: the labelings are not all the same (deterministic)."""
    cost, A, _ = random_problem(3, 4, (3, 3))
    cost, A = torch.from_numpy(cost), torch.from_numpy(A)
    config = CoMixupConfig(beta=0.0, gamma=0.1)  # flat landscape: the start matters
    results = [
        solve_labeling(cost, A, 4, config, torch.Generator().manual_seed(seed)) for seed in range(6)
    ]
    assert any(not torch.equal(results[0], other) for other in results[1:])


def test_pure_unary_picks_the_cheapest_input_per_block():
    """beta = gamma = eta = 0: every output's block takes the input of least cost there."""
    cost, A, _ = random_problem(11, 5, (3, 4))
    config = CoMixupConfig(beta=0.0, gamma=0.0, eta=0.0)
    z = solve_labeling(torch.from_numpy(cost), torch.from_numpy(A), 3, config)
    expected = torch.from_numpy(np.eye(5)[cost.argmin(0)])
    for output in z:
        torch.testing.assert_close(output, expected)


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(2, 5), grid=grids)
def test_two_levels_give_hard_labelings(seed, m, grid):
    cost, A, _ = random_problem(seed, m, grid)
    config = CoMixupConfig(n_levels=2)
    z = solve_labeling(
        torch.from_numpy(cost), torch.from_numpy(A), m, config, torch.Generator().manual_seed(seed)
    )
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(z.sum(-1) == 1)


def test_result_keeps_dtype_and_device():
    cost, A, _ = random_problem(0, 3, (2, 2))
    z = solve_labeling(torch.from_numpy(cost).float(), torch.from_numpy(A), 2, CoMixupConfig())
    assert z.dtype == torch.float32
    assert z.device == torch.device("cpu")


def test_fixed_prior_is_used():
    """A prior that nearly rules out input 0 (p_0 ~ 0, large eta) keeps it out of every block."""
    cost = torch.zeros(3, 2, 2, dtype=torch.float64)
    cost[0] = -1.0  # input 0 is by far the most salient ...
    prior = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)  # ... but the prior says no
    config = CoMixupConfig(eta=10.0, gamma=0.0)
    z = solve_labeling(cost, torch.eye(3, dtype=torch.float64), 2, config, prior=prior)
    assert torch.all(z[..., 0] == 0)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"beta": -1.0}, "beta=-1.0"),
        ({"gamma": -0.1}, "gamma=-0.1"),
        ({"eta": -1.0}, "eta=-1.0"),
        ({"omega": 1.5}, "omega=1.5"),
        ({"alpha": 0.0}, "alpha=0.0"),
        ({"partition_size": 0}, "partition_size=0"),
        ({"grid_size": 0}, "grid_size=0"),
        ({"n_levels": 1}, "n_levels=1"),
        ({"n_iter": 0}, "n_iter=0"),
        ({"mix_candidates": 1}, "mix_candidates=1"),
        ({"restarts": 0}, "restarts=0"),
    ],
)
def test_config_validation(overrides, name):
    with pytest.raises(ValueError, match=rf"CoMixupConfig: invalid value\(s\) {name}"):
        CoMixupConfig(**overrides)


def test_config_reports_every_bad_value():
    with pytest.raises(ValueError, match=r"beta=-1, gamma=-2"):
        CoMixupConfig(beta=-1, gamma=-2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_cost_raises(bad):
    cost = torch.rand(3, 2, 2)
    cost[1, 0, 1] = bad
    with pytest.raises(ValueError, match="cost contains NaN or inf values"):
        solve_labeling(cost, torch.eye(3), 2, CoMixupConfig())


def test_non_finite_A_raises():
    A = torch.eye(3)
    A[0, 1] = float("nan")
    with pytest.raises(ValueError, match="A contains NaN or inf values"):
        solve_labeling(torch.rand(3, 2, 2), A, 2, CoMixupConfig())


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (3,), (4, 4)])
def test_A_of_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match=r"A must be the \(m, m\) compatibility matrix .* m = 3"):
        solve_labeling(torch.rand(3, 2, 2), torch.ones(shape), 2, CoMixupConfig())


def test_cost_of_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"cost must have shape \(m, h, w\)"):
        solve_labeling(torch.rand(3, 4), torch.eye(3), 2, CoMixupConfig())


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_integer_cost_raises(dtype):
    with pytest.raises(ValueError, match="cost must be a floating-point tensor"):
        solve_labeling(torch.ones(3, 2, 2, dtype=dtype), torch.eye(3), 2, CoMixupConfig())


def test_integer_A_raises():
    with pytest.raises(ValueError, match="A must be a floating-point tensor"):
        solve_labeling(torch.rand(3, 2, 2), torch.eye(3, dtype=torch.int64), 2, CoMixupConfig())


def test_numpy_cost_raises():
    with pytest.raises(ValueError, match=r"cost must be a torch\.Tensor, got ndarray"):
        solve_labeling(np.zeros((3, 2, 2)), torch.eye(3), 2, CoMixupConfig())


@pytest.mark.parametrize("n_output", [0, -1])
def test_no_outputs_raises(n_output):
    with pytest.raises(ValueError, match="n_output must be at least 1"):
        solve_labeling(torch.rand(3, 2, 2), torch.eye(3), n_output, CoMixupConfig())


@pytest.mark.parametrize("prior", [torch.ones(2) / 2, torch.tensor([0.5, 0.6, -0.1])])
def test_bad_prior_raises(prior):
    with pytest.raises(ValueError, match=r"prior must be a non-negative vector of shape \(3,\)"):
        solve_labeling(torch.rand(3, 2, 2), torch.eye(3), 2, CoMixupConfig(), prior=prior)


def test_resolve_identical_on_hand_made_counts():
    counts = np.array(
        [
            [2.0, 2.0, 0.0, 0.0],  # uses {0, 1}
            [3.0, 1.0, 0.0, 0.0],  # uses {0, 1}: same set as output 0
            [0.0, 0.0, 4.0, 0.0],  # uses {2} only: a single input is never pushed
            [0.0, 0.0, 4.0, 0.0],  # uses {2}, identical to output 2 but single
            [0.0, 1.0, 0.0, 3.0],  # uses {1, 3}: unique
        ]
    )
    expected = np.zeros_like(counts)
    expected[0, 0] = 1.0  # the first of a pair pays for its first input
    expected[1, 1] = 1.0  # the second for its second input
    np.testing.assert_array_equal(resolve_identical(counts), expected)


def test_resolve_identical_three_equal_outputs():
    counts = np.array([[1.0, 1.0, 2.0], [2.0, 1.0, 1.0], [1.0, 2.0, 1.0]])  # all use {0, 1, 2}
    # Pairs (0, 1), (0, 2), (1, 2): firsts pay input 0, seconds pay input 1.
    expected = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(resolve_identical(counts), expected)


def test_resolve_identical_all_different_is_zero():
    counts = np.array([[4.0, 0.0, 0.0], [0.0, 2.0, 2.0], [2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(resolve_identical(counts), np.zeros((3, 3)))


def test_mixture_template_half_half_pairs():
    template = mixture_template(3, 3)
    assert template.shape == (3, 3)
    assert {tuple(row) for row in template.tolist()} == {(1, 1, 0), (1, 0, 1), (0, 1, 1)}


def test_mixture_template_other_levels():
    # |L| = 4: thirds; soft states split 3 units among >= 2 candidates.
    assert {tuple(row) for row in mixture_template(2, 4).tolist()} == {(2, 1), (1, 2)}
    assert len(mixture_template(3, 4)) == 7  # (2,1,0) x 6 orderings + (1,1,1)
    assert np.all(mixture_template(3, 4).sum(1) == 3)
    # |L| = 2 has no soft states.
    assert mixture_template(3, 2).shape == (0, 3)


def test_single_input_partition():
    """One input: the only labeling puts it everywhere, for any number of outputs."""
    z = solve_labeling(
        torch.rand(1, 2, 3), torch.eye(1), 3, CoMixupConfig(), torch.Generator().manual_seed(0)
    )
    assert z.shape == (3, 2, 3, 1)
    assert torch.all(z == 1)


def test_one_block_grid():
    """A 1x1 grid (grid_size=1 is allowed) has no edges: each output takes the cheapest input."""
    cost = torch.tensor([[[0.3]], [[-0.2]], [[0.1]]], dtype=torch.float64)
    config = CoMixupConfig(gamma=0.0, eta=0.0)
    z = solve_labeling(cost, torch.eye(3, dtype=torch.float64), 2, config)
    expected = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(2, 1, 1, 3)
    torch.testing.assert_close(z, expected)
