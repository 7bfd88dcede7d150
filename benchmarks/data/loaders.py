"""Data loaders whose order and augmentation follow from one seed.

The train loader shuffles with a ``torch.Generator`` seeded by the seeding rule
(``benchmarks.seeding``: the ``DATA`` stream of ``seed``, epoch 0, this rank). The same generator
also draws, at the start of each epoch, the base seed from which ``DataLoader`` seeds every
worker process (``random``, ``numpy`` and ``torch`` as ``base_seed + worker_id``; see
``torch.utils.data._utils.worker``), so random augmentations inside workers are reproduced too.
With ``workers=0`` the augmentations draw from the main process's global torch generator.
The runner re-seeds the generator (and the global ones) at every epoch by the same rule.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from benchmarks.seeding import Stream, derive_seed


def make_loaders(
    train_set: Dataset,
    test_set: Dataset,
    *,
    batch_size: int,
    seed: int,
    workers: int = 0,
    drop_last: bool = True,
    distributed: bool = False,
) -> tuple[DataLoader, DataLoader]:
    """The train loader (shuffled by ``seed``) and the test loader (in order).

    Args:
        batch_size: items per batch, per process when ``distributed``.
        seed: drives the shuffling (and the workers' seeds); the same seed gives the same order.
        workers: worker processes per loader (0: load in the main process).
        drop_last: drop the last incomplete train batch, so every step sees ``batch_size``
            items (Co-Mixup's partitions and the timing assume full batches). The test loader
            keeps every item.
        distributed: shard the train set over the ranks of the initialised process group with
            a ``DistributedSampler`` seeded by ``seed`` (the same on every rank, so the shards
            partition one permutation). The runner must call
            ``train_loader.sampler.set_epoch(epoch)`` before each epoch, or every epoch repeats
            the first one's order. The workers' generator is seeded per rank (the seeding
            rule), so that ranks augment differently. The test loader is not sharded: every
            rank sees the whole test set (the runner shards its own evaluation loaders).

    Raises:
        ValueError: ``batch_size`` or ``workers`` out of range, ``distributed`` without a
            process group, or a train set too small for one full batch with ``drop_last``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, got {workers}.")
    if distributed and not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            "distributed=True needs an initialised process group; call "
            "torch.distributed.init_process_group first."
        )
    rank = dist.get_rank() if distributed else 0
    generator = torch.Generator().manual_seed(derive_seed(seed, Stream.DATA, rank=rank))
    sampler = (
        DistributedSampler(train_set, shuffle=True, seed=seed, drop_last=drop_last)
        if distributed
        else None
    )
    pin_memory = torch.cuda.is_available()
    train_loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
    )
    if len(train_loader) == 0:
        per_rank = " per rank" if distributed else ""
        raise ValueError(
            f"the train set has {len(train_set)} items, fewer than batch_size {batch_size}"
            f"{per_rank}: with drop_last there is no batch; lower batch_size."
        )
    test_loader = DataLoader(
        test_set,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=False,
    )
    return train_loader, test_loader
