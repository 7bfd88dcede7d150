"""pytest-benchmark timing of one VAT training step (loss + backward) on a CIFAR-sized batch.

Run once as a plain test in the normal suite (``--benchmark-disable``); ``tox -e bench`` times
it. Model and batch are built outside the timed function.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from baselines.vat import PERTURBATION_NORM, VATConfig, VATMethod

NUM_CLASSES = 10


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, NUM_CLASSES),
    )


def test_bench_vat_step_cifar_batch_of_100(benchmark):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(100, 3, 32, 32, generator=g)
    y = torch.randint(0, NUM_CLASSES, (100,), generator=g)
    model = small_cnn()
    method = VATMethod(NUM_CLASSES, VATConfig())  # l-inf, 1 pixel step, one power iteration

    def step():
        model.zero_grad(set_to_none=True)
        loss, stats = method.loss(model, x, y, generator=torch.Generator().manual_seed(0))
        loss.backward()
        return loss, stats

    loss, stats = benchmark(step)

    assert torch.isfinite(loss)
    assert stats[PERTURBATION_NORM] == pytest.approx(1.0)
