"""pytest-benchmark timings of the Co-Mixup solver at the paper's sizes.

Run once as plain tests in the normal suite (``--benchmark-disable``); ``tox -e bench`` times
them. Inputs are built outside the timed functions; each case checks its result cheaply.
"""

from __future__ import annotations

import pytest
import torch

from comixup import (
    CoMixupConfig,
    co_mixup,
    co_mixup_labeling,
    compatibility_matrix,
    salient_distances,
    solve_labeling,
    unary_cost,
)

CONFIG = CoMixupConfig()  # paper defaults: m = 20, 4x4 grid, |L| = 3, 4 iterations
SIZE = 32  # CIFAR


def peaked_saliency(batch_size: int, seed: int = 0) -> torch.Tensor:
    """A Gaussian blob at a random place per image, plus a little noise: (B, 32, 32)."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.arange(SIZE, dtype=torch.float32).view(1, SIZE, 1)
    cols = torch.arange(SIZE, dtype=torch.float32).view(1, 1, SIZE)
    centre_row = torch.rand(batch_size, 1, 1, generator=g) * SIZE
    centre_col = torch.rand(batch_size, 1, 1, generator=g) * SIZE
    width = 2 + 4 * torch.rand(batch_size, 1, 1, generator=g)
    blob = torch.exp(-((rows - centre_row) ** 2 + (cols - centre_col) ** 2) / (2 * width**2))
    return blob + 0.05 * torch.rand(batch_size, SIZE, SIZE, generator=g)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(100, 3, SIZE, SIZE, generator=g)
    y = torch.randint(0, 10, (100,), generator=g)
    return x, y, peaked_saliency(100)


def test_bench_label_one_partition(benchmark):
    saliency = peaked_saliency(CONFIG.partition_size)
    cost = unary_cost(saliency, CONFIG.grid_size)
    A = compatibility_matrix(salient_distances(saliency), CONFIG.omega)
    m = CONFIG.partition_size

    z = benchmark(lambda: solve_labeling(cost, A, m, CONFIG, torch.Generator().manual_seed(0)))

    assert z.shape == (m, 4, 4, m)
    torch.testing.assert_close(z.sum(-1), torch.ones(m, 4, 4))


def test_bench_label_a_batch_of_100(benchmark, batch):
    _, _, saliency = batch

    labelings = benchmark(
        lambda: co_mixup_labeling(saliency, CONFIG, generator=torch.Generator().manual_seed(0))
    )

    assert [z.shape for z in labelings] == [(20, 4, 4, 20)] * 5


def test_bench_co_mixup_cifar_batch_of_100(benchmark, batch):
    x, y, saliency = batch

    x_mixed, y_soft = benchmark(
        lambda: co_mixup(
            x, y, saliency, CONFIG, generator=torch.Generator().manual_seed(0), num_classes=10
        )
    )

    assert x_mixed.shape == (100, 3, SIZE, SIZE)
    assert y_soft.shape == (100, 10)
    torch.testing.assert_close(y_soft.sum(1), torch.ones(100))
