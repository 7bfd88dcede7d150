"""Saliency: gradient maps, pooling to the labeling grid, normalisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from comixup import (
    input_gradient_saliency,
    normalize_saliency,
    pool_to_grid,
    saliency_from_gradient,
)


def test_saliency_from_gradient_is_rms_over_channels():
    grad = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    saliency = saliency_from_gradient(grad)
    assert saliency.shape == (2, 4, 5)
    for b in range(2):
        for r in range(4):
            for c in range(5):
                mean_square = sum(float(grad[b, ch, r, c]) ** 2 for ch in range(3)) / 3
                assert float(saliency[b, r, c]) == pytest.approx(mean_square**0.5, rel=1e-6)


def test_saliency_from_gradient_single_channel_is_abs():
    grad = torch.tensor([[[[-2.0, 3.0], [0.0, -0.5]]]])
    torch.testing.assert_close(saliency_from_gradient(grad), grad.abs()[:, 0])


def test_saliency_from_gradient_rejects_maps():
    with pytest.raises(ValueError, match=r"input gradients must have shape \(B, C, H, W\)"):
        saliency_from_gradient(torch.zeros(2, 4, 4))


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 5),
    )


@pytest.mark.parametrize("soft", [False, True])
def test_input_gradient_saliency(soft):
    model = tiny_model()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 8, 8, generator=g)
    y = torch.tensor([0, 4, 2, 2])
    if soft:
        y = F.one_hot(y, 5).float() * 0.8 + 0.04

    saliency, logits = input_gradient_saliency(model, x, y)

    assert saliency.shape == (4, 8, 8)
    assert torch.all(saliency >= 0)
    assert saliency.sum() > 0
    assert not saliency.requires_grad and not logits.requires_grad
    # Parameter gradients are untouched, the input is not turned into a leaf needing grad.
    assert all(parameter.grad is None for parameter in model.parameters())
    assert not x.requires_grad and x.grad is None
    # Against the gradient taken by hand.
    inputs = x.clone().requires_grad_(True)
    expected_logits = model(inputs)
    F.cross_entropy(expected_logits, y).backward()
    torch.testing.assert_close(logits, expected_logits.detach())
    torch.testing.assert_close(saliency, inputs.grad.square().mean(1).sqrt())


def test_pool_to_grid_averages_blocks():
    saliency = torch.arange(16.0).view(1, 4, 4)
    pooled = pool_to_grid(saliency, 2)
    # Blocks: [[0, 1, 4, 5], [2, 3, 6, 7]], [[8, 9, 12, 13], [10, 11, 14, 15]].
    torch.testing.assert_close(pooled, torch.tensor([[[2.5, 4.5], [10.5, 12.5]]]))


def test_pool_to_grid_non_square_image():
    saliency = torch.zeros(2, 4, 6)
    saliency[1, 0, 0] = 6.0  # in the top-left 2x3 block
    pooled = pool_to_grid(saliency, 2)
    assert pooled.shape == (2, 2, 2)
    torch.testing.assert_close(pooled[1], torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    torch.testing.assert_close(pooled[0], torch.zeros(2, 2))


def test_pool_to_grid_keeps_the_mean():
    saliency = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    pooled = pool_to_grid(saliency, 4)
    torch.testing.assert_close(pooled.mean(dim=(1, 2)), saliency.mean(dim=(1, 2)))


def test_pool_to_grid_grid_must_divide():
    with pytest.raises(ValueError, match="a 4x4 grid does not divide the 30x32 input"):
        pool_to_grid(torch.rand(1, 30, 32), 4)


def test_normalize_saliency_sums_to_one_and_keeps_proportions():
    pooled = torch.rand(4, 4, 4, generator=torch.Generator().manual_seed(0)) + 0.1
    normalised = normalize_saliency(pooled)
    torch.testing.assert_close(normalised.sum(dim=(1, 2)), torch.ones(4))
    torch.testing.assert_close(normalised * pooled.sum(dim=(1, 2), keepdim=True), pooled)


def test_normalize_saliency_zero_map_is_uniform():
    pooled = torch.zeros(2, 2, 3)
    pooled[0, 1, 2] = 5.0
    normalised = normalize_saliency(pooled)
    torch.testing.assert_close(normalised[1], torch.full((2, 3), 1 / 6))
    expected = torch.zeros(2, 3)
    expected[1, 2] = 1.0
    torch.testing.assert_close(normalised[0], expected)
