"""Saliency: input-gradient maps, pooled to the labeling grid and normalised.

Following Co-Mixup (Kim et al. 2021, sec. 5) and the official ``main.py``: the saliency of an
image is the l2 norm over channels of the loss gradient with respect to the input,
``sqrt(mean_c grad^2)``; it is average-pooled to the labeling grid and normalised to sum to 1
over the grid, so that the unary cost is ``-`` that normalised map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def saliency_from_gradient(grad: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean_c grad^2)``: (B, C, H, W) input gradients -> (B, H, W) saliency."""
    if grad.ndim != 4:
        raise ValueError(f"input gradients must have shape (B, C, H, W), got {tuple(grad.shape)}.")
    return grad.square().mean(dim=1).sqrt()


def input_gradient_saliency(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Saliency of each input under ``model``: the cross-entropy gradient w.r.t. the input.

    Only the input gradient is taken (``torch.autograd.grad``), so the model's parameter
    gradients are left untouched. ``y`` holds class indices or per-class probabilities.

    Returns:
        saliency of shape (B, H, W) and the logits of the clean pass (detached).
    """
    inputs = x.detach().requires_grad_(True)
    logits = model(inputs)
    loss = F.cross_entropy(logits, y)
    (grad,) = torch.autograd.grad(loss, inputs)
    return saliency_from_gradient(grad), logits.detach()


def check_saliency(saliency: torch.Tensor) -> None:
    """Raise a ValueError naming the problem for a saliency that cannot be used as a cost."""
    if saliency.ndim != 3:
        raise ValueError(
            f"saliency must have shape (B, H, W), got {tuple(saliency.shape)}; "
            "use saliency_from_gradient to reduce (B, C, H, W) gradients."
        )
    if not saliency.is_floating_point():
        raise ValueError(f"saliency must be a floating-point tensor, got {saliency.dtype}.")
    if not torch.isfinite(saliency).all():
        raise ValueError(
            "saliency contains NaN or inf values (a diverged model or a loss of inf?); "
            "check the loss before computing saliency."
        )
    if (saliency < 0).any():
        raise ValueError("saliency must be non-negative (it is a gradient norm).")


def pool_to_grid(saliency: torch.Tensor, grid_size: int) -> torch.Tensor:
    """Average-pool (B, H, W) saliency to a (B, grid_size, grid_size) grid of equal blocks."""
    check_saliency(saliency)
    height, width = saliency.shape[-2:]
    if height % grid_size or width % grid_size:
        raise ValueError(
            f"a {grid_size}x{grid_size} grid does not divide the {height}x{width} input into "
            "equal blocks; choose a grid_size that divides both sides."
        )
    kernel = (height // grid_size, width // grid_size)
    return F.avg_pool2d(saliency.unsqueeze(1), kernel_size=kernel).squeeze(1)


def normalize_saliency(pooled: torch.Tensor) -> torch.Tensor:
    """Scale each map to sum to 1 over its grid.

    An all-zero map (an input whose loss gradient vanished, e.g. a perfectly fitted sample)
    carries no preference; it becomes the uniform map ``1 / n`` rather than a division by zero.
    """
    check_saliency(pooled)
    total = pooled.flatten(1).sum(1).view(-1, 1, 1)
    uniform = torch.full_like(pooled, 1.0 / pooled[0].numel())
    return torch.where(total > 0, pooled / total.clamp_min(torch.finfo(pooled.dtype).tiny), uniform)
