"""Algorithm 1 against the exact brute-force optimum (supplement Table 2), and the references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from benchmarks.analysis import table2
from comixup import CoMixupConfig, objective
from comixup.reference import MAX_BRUTE_FORCE_LABELINGS, brute_force, random_guess

SEEDS = 100  # the spec's number of problems per size; all three sizes take ~25 s on 2 cores


@pytest.mark.parametrize(("m", "grid"), [(2, 2), (2, 3), (3, 2)])
def test_solver_within_one_percent_of_brute_force(m, grid):
    """Relative error (f_solver - f_brute) / (f_random - f_brute) < 1% on the normalised setting.

    SETTINGS[0]: costs uniform on [0, 1) normalised to sum 1 per input, A = I,
    CoMixupConfig(beta=0.8, gamma=1.0, tau=0.82, eta=0.0).
    """
    setting = table2.SETTINGS[0]
    assert setting.normalise
    assert setting.config == CoMixupConfig(beta=0.8, gamma=1.0, tau=0.82, eta=0.0)

    results = [table2.evaluate(m, grid, setting, seed) for seed in range(SEEDS)]
    mean = {key: np.mean([row[key] for row in results]) for key in results[0]}
    brute, guess = mean["brute force"], mean["random guess"]
    assert guess > brute
    for name in table2.SOLVERS:
        relative_error = (mean[name] - brute) / (guess - brute)
        assert relative_error < 0.01, f"{name}: relative error {relative_error:.4f}"


def tiny_problem(seed: int, m: int, grid: tuple[int, int]):
    rng = np.random.default_rng(seed)
    cost = torch.from_numpy(rng.uniform(size=(m, *grid)))
    cost = cost / cost.sum(dim=(1, 2), keepdim=True)
    B = rng.uniform(size=(m, m))
    A = torch.from_numpy(np.eye(m) + (B + B.T) / 4)
    prior = torch.from_numpy(rng.dirichlet(np.full(m, 2.0)))
    return cost, A, prior


def enumerate_objective(cost, A, n_output, config, *, prior=None, clipped=True) -> np.ndarray:
    """f of every hard labeling of n_output outputs, by explicit enumeration."""
    m, height, width = cost.shape
    eye = torch.eye(m, dtype=torch.float64)
    values = []
    for labels in itertools.product(range(m), repeat=n_output * height * width):
        z = eye[list(labels)].reshape(n_output, height, width, m)
        values.append(objective(cost, z, A, config, prior=prior, clipped=clipped))
    return np.array(values)


@pytest.mark.parametrize(
    ("m", "n_output", "grid", "seed"),
    [(2, 2, (2, 2), 0), (3, 2, (1, 2), 1), (2, 3, (1, 2), 2), (2, 1, (2, 3), 3)],
)
@pytest.mark.parametrize("clipped", [True, False])
def test_brute_force_is_the_enumerated_minimum(m, n_output, grid, seed, clipped):
    cost, A, prior = tiny_problem(seed, m, grid)
    config = CoMixupConfig(beta=0.8, gamma=1.0, tau=0.3, eta=0.2)

    result = brute_force(cost, A, n_output, config, prior=prior, clipped=clipped)

    values = enumerate_objective(cost, A, n_output, config, prior=prior, clipped=clipped)
    assert result.value == pytest.approx(values.min(), rel=1e-9, abs=1e-12)
    assert result.z.shape == (n_output, *grid, m)
    assert set(result.z.unique().tolist()) == {0.0, 1.0}
    assert torch.all(result.z.sum(-1) == 1)
    assert objective(cost, result.z, A, config, prior=prior, clipped=clipped) == pytest.approx(
        result.value, rel=1e-9, abs=1e-12
    )


def test_brute_force_refuses_large_problems():
    # (3^9)^3 joint labelings of three outputs on a 3x3 grid.
    assert MAX_BRUTE_FORCE_LABELINGS < (3**9) ** 3
    cost = torch.rand(3, 3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"brute force would enumerate .* labelings"):
        brute_force(cost, torch.eye(3, dtype=torch.float64), 3, CoMixupConfig())


def test_random_guess_lies_between_the_extremes():
    cost, A, prior = tiny_problem(4, 2, (2, 2))
    config = CoMixupConfig(beta=0.8, gamma=1.0, tau=0.3, eta=0.2)
    values = enumerate_objective(cost, A, 2, config, prior=prior)

    guess = random_guess(cost, A, 2, config, torch.Generator().manual_seed(0), prior=prior)

    assert brute_force(cost, A, 2, config, prior=prior).value < guess < values.max()


def test_random_guess_estimates_the_mean_over_all_labelings():
    """Uniform random hard labelings: the sample mean converges to the mean of the enumeration.

    random_guess computes the smoothness term its own way (counting changed edges), so this also
    checks it against :func:`objective`. Deterministic for the fixed generator.
    """
    cost, A, prior = tiny_problem(5, 2, (2, 2))
    config = CoMixupConfig(beta=0.8, gamma=1.0, tau=0.3, eta=0.2)
    values = enumerate_objective(cost, A, 2, config, prior=prior)
    n_samples = 20_000

    guess = random_guess(
        cost, A, 2, config, torch.Generator().manual_seed(1), n_samples=n_samples, prior=prior
    )

    standard_error = values.std() / np.sqrt(n_samples)
    assert abs(guess - values.mean()) < 5 * standard_error


def test_random_guess_is_deterministic_for_a_fixed_generator():
    cost, A, prior = tiny_problem(6, 3, (2, 2))
    config = CoMixupConfig()
    first = random_guess(cost, A, 3, config, torch.Generator().manual_seed(7), prior=prior)
    second = random_guess(cost, A, 3, config, torch.Generator().manual_seed(7), prior=prior)
    assert first == second


def test_random_guess_needs_a_sample():
    cost, A, _ = tiny_problem(0, 2, (2, 2))
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        random_guess(cost, A, 2, CoMixupConfig(), n_samples=0)


def test_brute_force_needs_an_output():
    with pytest.raises(ValueError, match="n_output must be at least 1"):
        brute_force(torch.rand(2, 2, 2), torch.eye(2), 0, CoMixupConfig())
