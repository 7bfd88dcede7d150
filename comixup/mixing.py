"""From a labeling to mixed inputs and soft labels; the public :func:`co_mixup`.

A labeling z of shape (m', h, w, m) gives each block of each output a weight vector over the m
inputs. The output image is the block-wise mixture of the inputs (the labeling up-sampled to
the image size with nearest neighbours), and its soft label is ``o_j / n`` applied to the
inputs' labels, ``o_j = sum_k z[j, k]`` (Co-Mixup, sec. 3; official ``match.mix_input``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from comixup.compatibility import compatibility_matrix, salient_distances
from comixup.config import CoMixupConfig
from comixup.saliency import check_saliency, normalize_saliency, pool_to_grid
from comixup.solver import solve_labeling


def upsample_labeling(z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest up-sampling of z (m', h, w, m) to per-pixel weights (m', m, H, W).

    Each block is repeated over its H/h x W/w pixels (exact block boundaries; F.interpolate's
    nearest mode misplaces rows for some sizes, e.g. 164 px on a 4-block grid).
    """
    height, width = size
    blocks = z.permute(0, 3, 1, 2)
    if height % blocks.shape[2] or width % blocks.shape[3]:
        raise ValueError(
            f"a {blocks.shape[2]}x{blocks.shape[3]} labeling does not divide a {height}x{width} "
            "image into equal blocks."
        )
    rows = blocks.repeat_interleave(height // blocks.shape[2], dim=2)
    return rows.repeat_interleave(width // blocks.shape[3], dim=3)


def mix_inputs(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Block-wise mixtures of the inputs x (m, C, H, W): returns (m', C, H, W)."""
    weights = upsample_labeling(z.to(x.dtype), tuple(x.shape[-2:]))
    return torch.einsum("jmhw,mchw->jchw", weights, x)


def mix_labels(z: torch.Tensor, y_soft: torch.Tensor) -> torch.Tensor:
    """Soft labels ``(o_j / n) @ y``: z (m', h, w, m), y_soft (m, K) -> (m', K)."""
    n_blocks = z.shape[1] * z.shape[2]
    ratios = z.to(y_soft.dtype).sum(dim=(1, 2)) / n_blocks
    return ratios @ y_soft


def to_soft_labels(y: torch.Tensor, num_classes: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Class indices (B,) -> one-hot (B, K); soft or one-hot labels (B, K) pass through."""
    if y.ndim == 1:
        if y.is_floating_point():
            raise ValueError(
                "labels of shape (B,) must be integer class indices, got floating point; "
                "pass soft labels as a (B, num_classes) tensor."
            )
        if num_classes is None:
            raise ValueError("num_classes is needed to one-hot encode class-index labels.")
        if y.numel() and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(
                f"class indices must lie in [0, {num_classes}), "
                f"got [{int(y.min())}, {int(y.max())}]."
            )
        return F.one_hot(y, num_classes).to(dtype)
    if y.ndim == 2:
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(
                f"soft labels have {y.shape[1]} classes, num_classes is {num_classes}."
            )
        return y.to(dtype)
    raise ValueError(
        f"labels must be class indices (B,) or soft labels (B, K), got {tuple(y.shape)}."
    )


def partitions(batch_size: int, partition_size: int) -> list[slice]:
    """Consecutive groups of ``partition_size``; the last one holds what remains."""
    return [
        slice(start, min(start + partition_size, batch_size))
        for start in range(0, batch_size, partition_size)
    ]


def unary_cost(saliency: torch.Tensor, grid_size: int) -> torch.Tensor:
    """``-`` the saliency pooled to the grid and normalised to sum 1: (B, H, W) -> (B, g, g)."""
    return -normalize_saliency(pool_to_grid(saliency, grid_size))


def _check_batch(x: torch.Tensor, y: torch.Tensor, saliency: torch.Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (B, C, H, W), got {tuple(x.shape)}.")
    if not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor, got {x.dtype}; convert integer images first, "
            "e.g. x.float() / 255 or torchvision.transforms.v2.ToDtype(torch.float32, scale=True)."
        )
    check_saliency(saliency)
    if x.shape[0] == 0:
        raise ValueError("the batch is empty; co_mixup needs at least one image.")
    sizes = {"x": x.shape[0], "y": y.shape[0], "saliency": saliency.shape[0]}
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"batch sizes disagree: {sizes}; pass one saliency map and label per image."
        )
    if saliency.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"saliency maps are {tuple(saliency.shape[-2:])} but images are "
            f"{tuple(x.shape[-2:])}; compute saliency at the input resolution."
        )


def co_mixup_labeling(
    saliency: torch.Tensor,
    config: CoMixupConfig,
    A: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Algorithm 1 over each partition of the batch: one labeling (m, g, g, m) per partition.

    ``A`` is the (B, B) compatibility matrix of the whole batch, used block by block; when it
    is None each partition's block is computed from the salient-location distances.
    """
    cost = unary_cost(saliency, config.grid_size)
    batch_size = cost.shape[0]
    if A is not None and A.shape != (batch_size, batch_size):
        raise ValueError(
            f"A must be the ({batch_size}, {batch_size}) compatibility matrix of the batch, "
            f"got {tuple(A.shape)}."
        )
    distances = salient_distances(saliency) if A is None else None
    labelings = []
    for part in partitions(batch_size, config.partition_size):
        if A is None:
            block = compatibility_matrix(distances[part, part], config.omega)
        else:
            block = A[part, part]
        n_inputs = part.stop - part.start
        labelings.append(solve_labeling(cost[part], block, n_inputs, config, generator))
    return labelings


def co_mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    saliency: torch.Tensor,
    config: CoMixupConfig,
    A: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    *,
    num_classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Co-Mixup of a batch: mixed inputs and their soft labels.

    Args:
        x: images (B, C, H, W), floating point; any B (a partition of one input comes back
            unmixed, since there is nothing to mix it with).
        y: class indices (B,) (with ``num_classes``) or soft / one-hot labels (B, K).
        saliency: non-negative saliency maps (B, H, W) at the input resolution.
        config: hyperparameters; the batch is solved in partitions of ``partition_size``.
        A: optional (B, B) compatibility matrix; computed from the saliency when None.
        generator: drives the initial labelings and Dirichlet priors.
        num_classes: number of classes, needed when ``y`` holds class indices.

    Returns:
        ``(x_mixed, y_soft)``: new tensors of shapes (B, C, H, W) and (B, K); each soft label
        sums to 1 when the input labels do. ``x`` is never modified.
    """
    _check_batch(x, y, saliency)
    y_soft = to_soft_labels(y, num_classes, x.dtype)
    labelings = co_mixup_labeling(saliency, config, A, generator)
    mixed, labels = [], []
    for part, z in zip(partitions(x.shape[0], config.partition_size), labelings, strict=True):
        z = z.to(x.device)
        mixed.append(mix_inputs(z, x[part]))
        labels.append(mix_labels(z, y_soft[part]))
    return torch.cat(mixed), torch.cat(labels)
