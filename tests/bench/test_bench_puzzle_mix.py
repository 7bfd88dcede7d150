"""pytest-benchmark timing of Puzzle Mix on a CIFAR-sized batch of 100.

Run once as a plain test in the normal suite (``--benchmark-disable``); ``tox -e bench`` times
it. Inputs are built outside the timed function; each round uses the same seed, hence the same
draw of the grid side, permutation and lambda.
"""

from __future__ import annotations

import torch

from baselines.puzzle_mix import PuzzleMixConfig, puzzle_mix

SIZE = 32  # CIFAR
BATCH = 100


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


def test_bench_puzzle_mix_cifar_batch_of_100(benchmark):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(BATCH, 3, SIZE, SIZE, generator=g)
    y = torch.randint(0, 100, (BATCH,), generator=g)
    saliency = peaked_saliency(BATCH)
    config = PuzzleMixConfig()  # official CIFAR-100 setting

    x_mixed, y_soft = benchmark(
        lambda: puzzle_mix(
            x, y, saliency, config, num_classes=100, generator=torch.Generator().manual_seed(0)
        )
    )

    assert x_mixed.shape == (BATCH, 3, SIZE, SIZE)
    assert y_soft.shape == (BATCH, 100)
    torch.testing.assert_close(y_soft.sum(1), torch.ones(BATCH))
