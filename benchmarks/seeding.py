"""The one seeding rule of a run: every random stream from (seed, stream, epoch, rank).

Each seed is drawn from ``numpy.random.SeedSequence(seed, spawn_key=(stream, epoch, rank))``,
so streams never overlap, ranks draw apart, and an epoch draws the same numbers whether the
run got there in one go or resumed from a checkpoint (nothing random is carried over an epoch
boundary). The streams:

- ``INIT`` (epoch 0, rank 0 on every rank): torch's global generator before the model is
  built, so every replica starts from the same weights (DDP also broadcasts rank 0's).
- ``METHOD``, per epoch and rank: the generator handed to ``method.loss``; each rank draws its
  own mixes for its own shard.
- ``DATA``, per epoch and rank: the train loader's generator. In one process it draws the
  shuffle order; in every case it draws the base seed of the loader's worker processes, so
  augmentations in workers differ between ranks. Under DDP the order is the
  ``DistributedSampler``'s, the same on every rank: torch's own rule, a permutation seeded with
  the run seed plus the epoch (``set_epoch``).
- ``HOST``, per epoch and rank: torch's global generator (with CUDA's), NumPy's and Python's,
  re-seeded at the start of each epoch: augmentations in the main process (``workers=0``),
  dropout, anything else that draws from a global generator.

The same rule serves a single process: it is rank 0 of a world of one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch


class Stream(IntEnum):
    INIT = 0
    METHOD = 1
    DATA = 2
    HOST = 3


def derive_seed(seed: int, stream: Stream, *, epoch: int = 0, rank: int = 0) -> int:
    """A 63-bit seed (what ``torch.Generator.manual_seed`` takes) for one stream."""
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}; pass a non-negative seed.")
    sequence = np.random.SeedSequence(seed, spawn_key=(int(stream), epoch, rank))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def seed_host(seed: int) -> None:
    """Seed torch's global generators (CPU and CUDA), NumPy's and Python's from ``seed``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@dataclass(frozen=True)
class EpochSeeds:
    """The seeds of one epoch on one rank."""

    method: int
    data: int
    host: int


def epoch_seeds(seed: int, epoch: int, rank: int) -> EpochSeeds:
    return EpochSeeds(
        method=derive_seed(seed, Stream.METHOD, epoch=epoch, rank=rank),
        data=derive_seed(seed, Stream.DATA, epoch=epoch, rank=rank),
        host=derive_seed(seed, Stream.HOST, epoch=epoch, rank=rank),
    )


def seed_epoch(
    seed: int,
    epoch: int,
    rank: int,
    *,
    method_generator: torch.Generator,
    loader: object,
) -> None:
    """Apply the rule at the start of ``epoch``: the method's generator, the loader's generator
    and sampler epoch, and the global generators."""
    seeds = epoch_seeds(seed, epoch, rank)
    method_generator.manual_seed(seeds.method)
    data_generator = getattr(loader, "generator", None)
    if isinstance(data_generator, torch.Generator):
        data_generator.manual_seed(seeds.data)
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    seed_host(seeds.host)
