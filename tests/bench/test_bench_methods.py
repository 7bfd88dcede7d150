"""One training step (loss, backward, SGD step) of every method on a batch of 100 CIFAR-sized
images, on the CPU, so that each method's overhead over ``vanilla`` reads as a ratio in one
pytest-benchmark table. A small CNN stands in for PreActResNet18 until the runner's models
exist."""

from __future__ import annotations

import pytest
import torch

from benchmarks.methods import METHOD_NAMES, get_method


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_bench_training_step(benchmark, name, tiny_net):
    benchmark.group = "training step, batch 100, 3x32x32, CPU"
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(100, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (100,), generator=generator)
    method = get_method(name, num_classes=10)
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        optimizer.zero_grad()
        loss, _ = method.loss(tiny_net, x, y, generator=generator)
        loss.backward()
        optimizer.step()
        return loss.item()

    assert torch.isfinite(torch.tensor(benchmark(step)))
