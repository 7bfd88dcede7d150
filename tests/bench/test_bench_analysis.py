"""pytest-benchmark timings of the algorithm analysis: Algorithm 1 over |L| (Figure 2, left)
and the Narasimhan-Bilmes procedure (Table 4), at m = m' = 20 on the 4x4 grid.

Run once as plain tests in the normal suite (``--benchmark-disable``); ``tox -e bench`` times
them on one thread (tests/bench/conftest.py). The problem is Table 3's first (uniform random
costs, the paper's defaults); each round uses the same seed, hence the same start.
"""

from __future__ import annotations

import pytest
import torch

from benchmarks.analysis.figure2 import level_config
from benchmarks.analysis.table3 import CONFIG, draw_problem, method_generator
from comixup import objective, solve_labeling
from comixup.reference import narasimhan_bilmes

M = 20


@pytest.mark.parametrize("n_levels", [2, 3, 4])
def test_bench_algorithm_1_levels(benchmark, n_levels):
    benchmark.group = f"algorithm analysis, m = m' = {M}, 4x4"
    cost, A, prior = draw_problem(M, 0)
    config = level_config(n_levels)

    z = benchmark(lambda: solve_labeling(cost, A, M, config, method_generator(0), prior=prior))

    assert z.shape == (M, 4, 4, M)
    torch.testing.assert_close(z.sum(-1), torch.ones(M, 4, 4, dtype=z.dtype))
    units = z * (n_levels - 1)
    torch.testing.assert_close(units, units.round())


def test_bench_narasimhan_bilmes(benchmark):
    benchmark.group = f"algorithm analysis, m = m' = {M}, 4x4"
    cost, A, prior = draw_problem(M, 0)

    def run() -> tuple[torch.Tensor, list[float]]:
        trace: list[float] = []
        z = narasimhan_bilmes(cost, A, M, CONFIG, method_generator(0), prior=prior, trace=trace)
        return z, trace

    z, trace = benchmark(run)

    assert objective(cost, z, A, CONFIG, prior=prior) <= trace[0]
    assert torch.all(z.sum(-1) == 1)
