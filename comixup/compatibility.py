"""The compatibility matrix A = (1 - omega) I + omega A_c (Co-Mixup, sec. 3).

``A_c`` holds the l1 distances between the most salient locations of the inputs, found on the
saliency map average-pooled with an 8x8 window and stride 1 (official ``main.py``), and is
rescaled to sum to m within each partition (official ``mixup.py``). A larger distance makes two
inputs more compatible: mixing inputs whose salient regions lie apart loses less saliency.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from comixup.saliency import check_saliency

SALIENT_WINDOW = 8
"""Window of the average pooling that locates each input's salient region (official code)."""


def salient_locations(saliency: torch.Tensor, window: int = SALIENT_WINDOW) -> torch.Tensor:
    """(row, column) of the most salient ``window`` x ``window`` region: (B, H, W) -> (B, 2)."""
    check_saliency(saliency)
    height, width = saliency.shape[-2:]
    window = min(window, height, width)
    pooled = F.avg_pool2d(saliency.unsqueeze(1), kernel_size=window, stride=1).squeeze(1)
    flat_index = pooled.flatten(1).argmax(dim=1)
    columns = pooled.shape[-1]
    return torch.stack([flat_index // columns, flat_index % columns], dim=1).to(saliency.dtype)


def salient_distances(saliency: torch.Tensor, window: int = SALIENT_WINDOW) -> torch.Tensor:
    """Pairwise l1 distances between the inputs' salient locations, shape (B, B)."""
    locations = salient_locations(saliency, window)
    return torch.cdist(locations, locations, p=1)


def compatibility_matrix(distances: torch.Tensor, omega: float) -> torch.Tensor:
    """``(1 - omega) I + omega A_c`` for one partition, ``A_c`` = distances rescaled to sum m.

    When every salient location coincides the distances are all zero and ``A_c`` is zero too.
    """
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(f"distances must be a square (m, m) matrix, got {tuple(distances.shape)}.")
    m = distances.shape[0]
    total = distances.sum()
    scaled = distances * (m / total) if total > 0 else torch.zeros_like(distances)
    identity = torch.eye(m, dtype=distances.dtype, device=distances.device)
    return (1 - omega) * identity + omega * scaled
