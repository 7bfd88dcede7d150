"""From a labeling to mixed inputs and soft labels; the :class:`CoMixup` mixer.

A labeling z of shape (m', h, w, m) gives each block of each output a weight vector over the m
inputs. The output image is the block-wise mixture of the inputs (the labeling up-sampled to
the image size with nearest neighbours), and its soft label is ``o_j / n`` applied to the
inputs' labels, ``o_j = sum_k z[j, k]`` (Co-Mixup, sec. 3; official ``match.mix_input``).
"""

from __future__ import annotations

import torch

from comixup.batch import MixedBatch, SaliencyMixer
from comixup.compatibility import compatibility_matrix, salient_distances
from comixup.config import CoMixupConfig
from comixup.grid import upsample_blocks
from comixup.parallel import solve_partitions
from comixup.saliency import normalize_saliency, pool_to_grid


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
    return upsample_blocks(blocks, height, width)


def mix_inputs(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Block-wise mixtures of the inputs x (m, C, H, W) by z (m', h, w, m): (m', C, H, W).

    Each output block is ``z[j, a, b] @`` the inputs' block (a, b): one (m', m) x (m, C*bh*bw)
    product per block. The same sum taken per pixel, on z up-sampled to (m', m, H, W), was most
    of Co-Mixup's CPU mixing phase: a partition of 20 at 32 px took 18 ms on one thread against
    0.7 ms this way (26x, paired, a shared machine; 85 vs 0.3 ms on two threads). The results
    are equal to the last bit for one-hot z.
    """
    outputs, grid_h, grid_w, n_inputs = z.shape
    channels, height, width = x.shape[1:]
    if x.shape[0] != n_inputs:
        raise ValueError(
            f"the labeling mixes {n_inputs} inputs but x holds {x.shape[0]}: pass the inputs of "
            "the partition the labeling was solved for."
        )
    if height % grid_h or width % grid_w:
        raise ValueError(
            f"a {grid_h}x{grid_w} labeling does not divide a {height}x{width} image into equal "
            "blocks."
        )
    bh, bw = height // grid_h, width // grid_w
    # (m, C, h, bh, w, bw) -> (h*w, m, C*bh*bw): one row of pixels per input and block.
    blocks = x.reshape(n_inputs, channels, grid_h, bh, grid_w, bw).permute(2, 4, 0, 1, 3, 5)
    blocks = blocks.reshape(grid_h * grid_w, n_inputs, channels * bh * bw)
    weights = z.to(x.dtype).permute(1, 2, 0, 3).reshape(grid_h * grid_w, outputs, n_inputs)
    mixed = torch.bmm(weights, blocks).reshape(grid_h, grid_w, outputs, channels, bh, bw)
    return mixed.permute(2, 3, 0, 4, 1, 5).reshape(outputs, channels, height, width)


def mix_labels(z: torch.Tensor, y_soft: torch.Tensor) -> torch.Tensor:
    """Soft labels ``(o_j / n) @ y``: z (m', h, w, m), y_soft (m, K) -> (m', K)."""
    n_blocks = z.shape[1] * z.shape[2]
    ratios = z.to(y_soft.dtype).sum(dim=(1, 2)) / n_blocks
    return ratios @ y_soft


def partitions(batch_size: int, partition_size: int) -> list[slice]:
    """Consecutive groups of ``partition_size``; the last one holds what remains."""
    return [
        slice(start, min(start + partition_size, batch_size))
        for start in range(0, batch_size, partition_size)
    ]


def unary_cost(saliency: torch.Tensor, grid_size: int) -> torch.Tensor:
    """``-`` the saliency pooled to the grid and normalised to sum 1: (B, H, W) -> (B, g, g)."""
    return -normalize_saliency(pool_to_grid(saliency, grid_size))


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
    # 16-bit saliency is summed, normalised and compared by distance (cdist has no 16-bit
    # kernels): in float32 at least.
    saliency = saliency.to(torch.promote_types(saliency.dtype, torch.float32))
    cost = unary_cost(saliency, config.grid_size)
    batch_size = cost.shape[0]
    if A is not None and A.shape != (batch_size, batch_size):
        raise ValueError(
            f"A must be the ({batch_size}, {batch_size}) compatibility matrix of the batch, "
            f"got {tuple(A.shape)}."
        )
    distances = salient_distances(saliency) if A is None else None
    jobs = []
    for part in partitions(batch_size, config.partition_size):
        if A is None:
            block = compatibility_matrix(distances[part, part], config.omega)
        else:
            block = A[part, part]
        n_inputs = part.stop - part.start
        jobs.append((cost[part], block, n_inputs))
    return solve_partitions(jobs, config, generator)


def mix_partitions(
    x: torch.Tensor, y_soft: torch.Tensor, labelings: list[torch.Tensor], partition_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each partition's labeling applied to its inputs and labels, the batch put back together:
    mixed inputs (B, C, H, W) and soft labels (B, K)."""
    mixed, labels = [], []
    for part, z in zip(partitions(x.shape[0], partition_size), labelings, strict=True):
        z = z.to(x.device)
        mixed.append(mix_inputs(z, x[part]))
        labels.append(mix_labels(z, y_soft[part]))
    return torch.cat(mixed), torch.cat(labels)


class CoMixup(SaliencyMixer):
    """Co-Mixup of a batch (Kim et al., ICLR 2021): Algorithm 1 over partitions of
    ``config.partition_size`` inputs, then block-wise mixtures and their soft labels.

    ``CoMixup(config, num_classes=10)(x, y, saliency=s, generator=g) -> (x_mixed, y_soft)``:

    - x: images (B, C, H, W), floating point; any B (a partition of one input comes back
      unmixed, since there is nothing to mix it with); never modified.
    - y: class indices (B,) (with ``num_classes``) or soft / one-hot labels (B, K).
    - saliency: non-negative saliency maps (B, H, W) at the input resolution.
    - A: optional (B, B) compatibility matrix; computed from the saliency when None.
    - generator: drives the initial labelings and Dirichlet priors.

    Returns new tensors (B, C, H, W) and float32 (B, K) on ``x.device``; each soft label sums
    to 1 when the input labels do.
    """

    config_class = CoMixupConfig

    def mix(
        self,
        x: torch.Tensor,
        y_soft: torch.Tensor,
        saliency: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        A: torch.Tensor | None = None,
    ) -> MixedBatch:
        """The mix of a checked batch (``y_soft`` float (B, K) on x's device), with each
        output's largest input share and number of inputs."""
        return self._mix_with_shares(x, y_soft, saliency, generator=generator, A=A)[0]

    def mix_with_shares(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        saliency: torch.Tensor,
        generator: torch.Generator | None = None,
        A: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What calling the mixer returns (the same draws from ``generator``, the same
        tensors), and beside it each output's share of each input, (B, B) float32 with rows
        summing to 1 (see :func:`source_shares`): ``(x_mixed, y_soft, shares)``."""
        y_soft = self.check(x, y, saliency)
        saliency = saliency.to(torch.promote_types(saliency.dtype, torch.float32))
        mixed, shares = self._mix_with_shares(x, y_soft, saliency, generator=generator, A=A)
        return mixed.x_mixed, mixed.y_soft, shares

    def _mix_with_shares(
        self,
        x: torch.Tensor,
        y_soft: torch.Tensor,
        saliency: torch.Tensor,
        *,
        generator: torch.Generator | None,
        A: torch.Tensor | None,
    ) -> tuple[MixedBatch, torch.Tensor]:
        labelings = co_mixup_labeling(saliency, self.config, A, generator)
        x_mixed, y_mixed = mix_partitions(x, y_soft, labelings, self.config.partition_size)
        shares = source_shares(labelings, self.config.partition_size).to(x.device)
        largest = shares.max(dim=1).values
        sources = (shares > 0).sum(dim=1).float()
        return MixedBatch(x_mixed, y_mixed, largest, sources), shares


def source_shares(labelings: list[torch.Tensor], partition_size: int) -> torch.Tensor:
    """Each output's share of each input of the batch, ``o_j / n``, as one (B, B) float32
    matrix: row j is output j, column i input i; zero outside the output's own partition.
    With one-hot labels the soft labels are ``shares @ y``."""
    sizes = [z.shape[0] for z in labelings]
    batch_size = sum(sizes)
    shares = torch.zeros(batch_size, batch_size)
    for part, z in zip(partitions(batch_size, partition_size), labelings, strict=True):
        n_blocks = z.shape[1] * z.shape[2]
        shares[part, part] = z.detach().cpu().float().sum(dim=(1, 2)) / n_blocks
    return shares


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
    """Co-Mixup of a batch: ``CoMixup(config, num_classes=...)(x, y, saliency=..., A=...,
    generator=...)``, kept as a function (see :class:`CoMixup` for the arguments)."""
    mixer = CoMixup(config, num_classes=num_classes)
    return mixer(x, y, saliency=saliency, generator=generator, A=A)
