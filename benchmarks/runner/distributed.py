"""Processes and devices: which rank this is, which device it drives, how the model is wrapped.

Under ``torchrun`` (WORLD_SIZE > 1) each process joins the process group, drives one device,
trains a DistributedDataParallel replica of the model and evaluates its own share of the
evaluation sets (the metrics are synchronised by torchmetrics). A single process is rank 0 of
a world of one, and every function here is then a no-op or the identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, Subset

from comixup.method import WrapsModel


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: its rank among ``world_size`` processes."""

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that talks to MLflow and writes checkpoints."""
        return self.rank == 0


def init_distributed(device_type: str) -> Distributed:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size())


def pick_device(world: Distributed) -> torch.device:
    """The GPU of this rank's ``LOCAL_RANK`` when CUDA is available, else the CPU."""
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", world.rank))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def wrap_for_training(
    model: nn.Module, method: object, world: Distributed, device: torch.device
) -> nn.Module:
    """The module the method trains: the model itself in a single process, else a DDP replica.

    A method whose loss runs the model in an unusual way (Manifold Mixup calls its stages one
    by one) wraps it first through its optional ``wrap_model`` hook, so that all of that work
    happens inside DDP's ``forward`` and its gradients are synchronised.
    """
    if not world.enabled:
        return model
    inner = method.wrap_model(model) if isinstance(method, WrapsModel) else model
    # Buffers are not broadcast at every forward: Co-Mixup, Puzzle Mix and VAT make several
    # forwards before one backward, and an in-place broadcast between them breaks autograd;
    # batch-norm statistics are averaged across ranks after each epoch instead.
    return nn.parallel.DistributedDataParallel(
        inner,
        device_ids=[device.index] if device.type == "cuda" else None,
        broadcast_buffers=False,
    )


def average_buffers(model: nn.Module, world: Distributed) -> None:
    """Average floating-point buffers (batch-norm statistics) across ranks, so that every
    replica evaluates and checkpoints the same model (timm's ``distribute_bn`` with reduce)."""
    if not world.enabled:
        return
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer /= world.world_size


def shard(dataset: Dataset, world: Distributed) -> Dataset:
    """This rank's share of an evaluation set: items rank, rank + world_size, ...

    Unlike ``DistributedSampler`` nothing is padded, so the synchronised metrics count every
    item exactly once.
    """
    if not world.enabled:
        return dataset
    return Subset(dataset, range(world.rank, len(dataset), world.world_size))
