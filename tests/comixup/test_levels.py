"""Algorithm 1 with a general number of ratio levels |L| (supplement Figure 2, left)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comixup import CoMixupConfig, objective, solve_labeling
from comixup.solver import solve_partition

SEEDS = range(6)


def random_problem(seed: int, m: int):
    """Costs like -normalised saliency plus noise on a 4x4 grid, symmetric A, a prior."""
    rng = np.random.default_rng(seed)
    saliency = rng.uniform(size=(m, 4, 4))
    cost = -saliency / saliency.sum(axis=(1, 2), keepdims=True) + 0.05 * rng.normal(size=(m, 4, 4))
    B = rng.uniform(size=(m, m))
    A = 0.5 * np.eye(m) + 0.25 * (B + B.T)
    return cost, A, rng.dirichlet(np.full(m, 2.0))


@pytest.mark.parametrize("n_levels", [2, 3, 4, 5])
@pytest.mark.parametrize("mix_candidates", [3, 4])
def test_blocks_are_mixtures_on_the_level_grid(n_levels, mix_candidates):
    """Each block sums to 1, uses only multiples of 1/(|L|-1), mixes at most
    min(|L| - 1, mix_candidates) inputs, and f is no worse than the random start."""
    config = CoMixupConfig(n_levels=n_levels, mix_candidates=mix_candidates, beta=1.0)
    units = n_levels - 1
    soft_blocks = 0
    for seed in SEEDS:
        m = 6
        cost, A, prior = random_problem(seed, m)
        init = np.random.default_rng(seed).integers(0, m, size=(1, m, 16))
        z, value = solve_partition(
            cost, A, m, config, np.random.default_rng(seed), prior=prior, init_labels=init
        )
        np.testing.assert_allclose(z.sum(-1), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(z * units, np.rint(z * units), rtol=0, atol=1e-9)
        mixed = (z > 0).sum(-1)
        assert mixed.max() <= min(units, mix_candidates)
        soft_blocks += int((mixed > 1).sum())
        z_init = np.eye(m)[init[0]].reshape(m, 4, 4, m)
        assert value <= objective(cost, z_init, A, config, prior=prior) + 1e-12
    # The soft states are used: with beta = 1 some blocks mix inputs for every |L| > 2.
    assert (soft_blocks > 0) == (n_levels > 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_three_levels_is_the_default(seed):
    cost, A, _ = random_problem(seed, 8)
    cost, A = torch.from_numpy(cost), torch.from_numpy(A)
    default = solve_labeling(cost, A, 8, CoMixupConfig(), torch.Generator().manual_seed(seed))
    three = solve_labeling(
        cost, A, 8, CoMixupConfig(n_levels=3), torch.Generator().manual_seed(seed)
    )
    assert torch.equal(default, three)
    # Half-half blocks at most: |L| = 3 means weights in {0, 1/2, 1}.
    assert set(default.unique().tolist()) <= {0.0, 0.5, 1.0}
