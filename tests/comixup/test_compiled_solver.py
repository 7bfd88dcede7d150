"""The compiled Algorithm 1 (``comixup.compiled_solver``) against the per-step solver it
replaces: the same labels on the same inputs, restarts, and the GIL it releases.

The per-step path (``solve_partition(..., stepwise=True)``) is the Python loop around the
compiled swap that the kernel fuses; it stays as the reference, and GCO behind it
(``tests/comixup/test_labeling_backends.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from comixup import CoMixupConfig
from comixup.compiled_solver import solve_kernel
from comixup.problems import realistic_problem
from comixup.solver import solve_partition


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, int, CoMixupConfig, np.ndarray]:
    """A small problem under a random configuration: shapes, levels, passes, flags, and costs
    on a coarse scale (many ties) or a fine one."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 9))
    n_output = int(rng.integers(1, 9))
    height, width = (int(side) for side in rng.integers(1, 6, size=2))
    coarse = rng.random() < 0.3
    cost = (
        rng.integers(-3, 1, size=(m, height, width)) / 4
        if coarse
        else -rng.random((m, height, width))
    )
    distances = rng.random((m, m))
    A = (1 - 0.2) * np.eye(m) + 0.2 * (distances + distances.T) / 2 * rng.integers(0, 2)
    config = CoMixupConfig(
        beta=float(rng.choice([0.0, 0.32, 2.0])),
        gamma=float(rng.choice([0.0, 1.0, 5.0])),
        eta=float(rng.choice([0.0, 0.05])),
        tau=float(rng.choice([0.0, 0.3, 0.83])),
        n_levels=int(rng.integers(2, 5)),
        n_iter=int(rng.integers(1, 6)),
        resolve=bool(rng.integers(0, 2)),
        keep_best=bool(rng.integers(0, 2)),
        mix_candidates=int(rng.integers(2, 5)),
        restarts=int(rng.integers(1, 3)),
    )
    starts = rng.integers(0, m, size=(config.restarts, n_output, height * width))
    return cost, A, n_output, config, starts


def both_paths(cost, A, n_output, config, starts, prior=None):
    """(z, f) of the compiled kernel and of the per-step solver from the same starts."""
    return [
        solve_partition(
            cost,
            A,
            n_output,
            config,
            np.random.default_rng(0),
            prior=prior,
            init_labels=starts,
            stepwise=stepwise,
        )
        for stepwise in (False, True)
    ]


def test_the_kernel_gives_the_per_step_labels_on_1000_random_problems():
    for seed in range(1000):
        cost, A, n_output, config, starts = random_case(seed)
        (z, f), (z_reference, f_reference) = both_paths(cost, A, n_output, config, starts)
        np.testing.assert_array_equal(z, z_reference, err_msg=f"seed {seed}, {config}")
        # f is summed in another order: equal within rounding
        assert f == pytest.approx(f_reference, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("keep_best", [False, True])
def test_the_kernel_gives_the_per_step_labels_on_100_realistic_problems(keep_best):
    config = CoMixupConfig(keep_best=keep_best)
    changed = 0
    for seed in range(100):
        cost, A = (tensor.numpy() for tensor in realistic_problem(seed))
        rng = np.random.default_rng(seed)
        prior = rng.dirichlet(np.full(20, config.alpha))
        start = rng.integers(0, 20, size=(1, 20, 16))
        (z, f), (z_reference, f_reference) = both_paths(cost, A, 20, config, start, prior)
        np.testing.assert_array_equal(z, z_reference, err_msg=f"seed {seed}")
        assert f == pytest.approx(f_reference, rel=1e-9)
        changed += not np.array_equal(z, np.eye(20)[start[0]])
    assert changed == 100  # the passes did move every labeling: the comparison is not vacuous


def test_the_kernel_releases_the_gil():
    """Partitions on threads run at the same time only if the kernel runs without the GIL."""
    assert solve_kernel.targetoptions.get("nogil") is True


def test_restarts_keep_the_better_start_in_both_paths():
    cost, A = (tensor.numpy() for tensor in realistic_problem(3, m=8))
    config = dataclasses.replace(CoMixupConfig(), restarts=3, partition_size=8)
    starts = np.random.default_rng(3).integers(0, 8, size=(3, 8, 16))
    (z, f), (z_reference, _) = both_paths(cost, A, 8, config, starts)
    np.testing.assert_array_equal(z, z_reference)
    singles = [
        solve_partition(cost, A, 8, config, np.random.default_rng(0), init_labels=s[None])[1]
        for s in starts
    ]
    assert f == pytest.approx(min(singles), rel=1e-12)
