"""Figures a run logs: learning curves and a grid of the first batch's mixed samples.

Figures are built with matplotlib's object-oriented ``Figure`` (not pyplot): they are only
saved to files, so no backend is selected and no global figure state is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid


def learning_curves(history: dict[str, list[float]], path: Path) -> None:
    """Train loss, test top-1 error and test ECE per epoch, side by side."""
    panels = [
        ("train_loss", "train loss"),
        ("test_top1_error", "test top-1 error (%)"),
        ("test_ece", "test ECE"),
    ]
    figure = Figure(figsize=(4 * len(panels), 3.2))
    axes = figure.subplots(1, len(panels))
    for axis, (key, label) in zip(axes, panels, strict=True):
        values = history.get(key, [])
        axis.plot(range(1, len(values) + 1), values, marker="o", markersize=3)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def sample_grid(
    images: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    path: Path,
    *,
    title: str,
    max_images: int = 32,
) -> None:
    """Un-normalise up to ``max_images`` images (B, C, H, W) and save them as one grid."""
    shown = images[:max_images].float()
    if shown.ndim == 4 and shown.shape[1] == len(mean):
        mean_t = torch.tensor(mean).view(1, -1, 1, 1)
        std_t = torch.tensor(std).view(1, -1, 1, 1)
        shown = shown * std_t + mean_t
    grid = make_grid(shown.clamp(0, 1), nrow=8, padding=1).permute(1, 2, 0).numpy()
    figure = Figure(figsize=(8, 1 + grid.shape[0] / grid.shape[1] * 8))
    axis = figure.subplots()
    axis.imshow(grid.squeeze(), cmap="gray" if grid.shape[-1] == 1 else None)
    axis.set_title(title)
    axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
