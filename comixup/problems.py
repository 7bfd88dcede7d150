"""Realistic labeling problems for tests, benchmarks and the comparison with the official code.

A problem is what Co-Mixup hands Algorithm 1 for one partition: ``cost`` (m, g, g), minus each
input's saliency pooled to the grid and normalised to sum 1, and ``A`` (m, m) from the distances
between salient regions. Saliency here is blob-like, as input gradients of a trained network
are (one object per image at a random place and scale, over weak background noise), rather
than uniform noise, on which the compatibility threshold and the resolve pass rarely act.
"""

from __future__ import annotations

import numpy as np
import torch

from comixup.compatibility import compatibility_matrix, salient_distances
from comixup.mixing import unary_cost


def blob_saliency(m: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """(m, size, size) non-negative maps: one Gaussian blob per input plus 5% noise."""
    coordinates = np.arange(size)
    rows, cols = np.meshgrid(coordinates, coordinates, indexing="ij")
    centres = rng.uniform(0.15, 0.85, size=(m, 2)) * size
    widths = rng.uniform(0.08, 0.25, size=m) * size
    squared = (rows[None] - centres[:, 0, None, None]) ** 2 + (
        cols[None] - centres[:, 1, None, None]
    ) ** 2
    blobs = np.exp(-squared / (2 * widths[:, None, None] ** 2))
    noise = 0.05 * rng.uniform(size=(m, size, size))
    return torch.from_numpy(blobs + noise)


def realistic_problem(
    seed: int, m: int = 20, *, size: int = 32, grid_size: int = 4, omega: float = 0.001
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cost, A)`` in float64 for ``m`` inputs of ``size`` x ``size`` pixels."""
    saliency = blob_saliency(m, size, np.random.default_rng(seed))
    cost = unary_cost(saliency, grid_size)
    A = compatibility_matrix(salient_distances(saliency), omega)
    return cost, A
