"""The optimiser and the learning-rate schedule.

``build_optimizer`` makes SGD (Nesterov, the official code's) or Adam (the speech configs),
optionally sparing normalisation parameters from weight decay. ``build_scheduler`` makes one
``torch.optim.lr_scheduler.LambdaLR`` stepped after every optimiser step; it is the only thing
that sets the learning rate. Batch ``i`` (0-based) of an epoch ``e`` of ``n`` batches trains
with the rate at the fractional epoch ``t = e + (i + 1) / n``:

- in a phase with learning-rate points (the fast-ImageNet schedule), the rate interpolated
  linearly between them at ``t``;
- otherwise the step schedule: ``lr * lr_decay ** k``, with ``k`` the number of milestones at
  or before ``e`` (MultiStepLR's curve, applied per iteration).

Because phases change the batch size, and so the number of batches, the schedule takes an
:class:`EpochPlan` with the number of steps of every epoch.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmarks.configs import Phase, TrainConfig


def active_phase(config: TrainConfig, epoch: int) -> Phase | None:
    """The last phase starting at or before ``epoch`` (None without phases)."""
    started = [phase for phase in config.phases if phase.start_epoch <= epoch]
    return started[-1] if started else None


def learning_rate(phase: Phase | None) -> Callable[[float], float] | None:
    """The phase's learning rate at a fractional epoch, linear between its points."""
    if phase is None or not phase.lr_epochs:
        return None
    return lambda t: float(np.interp(t, phase.lr_epochs, phase.lr_values))


def _parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    if config.bn_weight_decay:
        return [{"params": list(model.parameters())}]
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)
    exempt = {id(p) for m in model.modules() if isinstance(m, norm_types) for p in m.parameters()}
    return [
        {"params": [p for p in model.parameters() if id(p) not in exempt]},
        {"params": [p for p in model.parameters() if id(p) in exempt], "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with the config's momentum, or Adam (default betas) for configs whose ``optimizer``
    is ``adam`` (``benchmarks.configs.speech``).

    Adam is the fused implementation: the same update in one pass over each parameter. On the
    CPU the default per-tensor loop made LeNet's 13M-weight linear layer cost about 150 ms a
    step, more than its forward and backward; fused takes about 15 ms (one thread)."""
    groups = _parameter_groups(model, config)
    if getattr(config, "optimizer", "sgd") == "adam":
        return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(
        groups,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
    )


@dataclass(frozen=True)
class EpochPlan:
    """How many optimiser steps each epoch makes."""

    steps_per_epoch: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.steps_per_epoch or min(self.steps_per_epoch) < 1:
            raise ValueError(
                f"every epoch needs at least one step, got {self.steps_per_epoch}; "
                "check batch_size and limit_batches."
            )

    def locate(self, step: int) -> tuple[int, float]:
        """``(epoch, t)`` of global step ``step``: its epoch, and the fractional epoch at its
        end. Steps past the last epoch count as the end of training."""
        starts = list(itertools.accumulate(self.steps_per_epoch, initial=0))
        if step >= starts[-1]:
            last = len(self.steps_per_epoch) - 1
            return last, float(last + 1)
        epoch = bisect.bisect_right(starts, step) - 1
        return epoch, epoch + (step - starts[epoch] + 1) / self.steps_per_epoch[epoch]


def lr_multiplier(config: TrainConfig, plan: EpochPlan) -> Callable[[int], float]:
    """Global step -> learning rate / ``config.lr`` (see the module docstring)."""

    def multiplier(step: int) -> float:
        epoch, t = plan.locate(step)
        lr_at = learning_rate(active_phase(config, epoch))
        if lr_at is not None:
            return lr_at(t) / config.lr
        return config.lr_decay ** sum(1 for m in config.milestones if m <= epoch)

    return multiplier


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, plan: EpochPlan
) -> torch.optim.lr_scheduler.LambdaLR:
    """The per-iteration schedule; call ``step()`` after every optimiser step.

    Raises:
        ValueError: phases with learning-rate points but ``lr`` 0 (the points are scaled by it).
    """
    if any(phase.lr_epochs for phase in config.phases) and config.lr <= 0:
        raise ValueError(
            f"lr must be positive when phases give learning-rate points, got {config.lr}; "
            "set lr to the schedule's peak."
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_multiplier(config, plan))
