"""One training step and one training epoch (torchvision's ``train_one_epoch``).

``training_step`` asks the method for its loss, checks it is finite, and steps the optimiser,
timing each phase. ``train_one_epoch`` runs the steps of one epoch with a per-iteration
learning-rate schedule, averages the loss and the method's stats over every rank (torchmetrics
``MeanMetric``) and returns them with the per-batch values, which the caller logs once the epoch
is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torchmetrics import MeanMetric
from tqdm.auto import tqdm

from benchmarks.runner.batch_timer import BatchTimer
from benchmarks.runner.distributed import Distributed
from comixup.method import CLEAN_ACCURACY, LAMBDA, Method

BatchHook = Callable[[int, int], None]
"""Called as ``hook(epoch, batch)`` after each training batch (tests use it to interrupt)."""

BatchRecord = tuple[int, dict[str, float]]
"""(global step, {metric: value}) of one training batch."""

EPOCH_MEANS = {"train_loss": "loss", "train_clean_accuracy": CLEAN_ACCURACY, "train_lambda": LAMBDA}
"""Epoch metric -> the per-batch value it averages (``loss`` or a method stat)."""


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


def autocast(device: torch.device, enabled: bool):
    """torch.amp autocast: float16 on CUDA, bfloat16 on the CPU."""
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


def training_step(
    method: Method,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    timer: BatchTimer,
    *,
    amp: bool,
    generator: torch.Generator,
    where: str,
) -> tuple[torch.Tensor, dict[str, float], dict[str, float]]:
    """One optimisation step, timed by phase: method loss and backward, then optimizer.

    Returns the loss, the method's stats and this batch's phase seconds. Raises
    NonFiniteLossError (naming ``where``) before the backward pass of a NaN or infinite loss.
    """
    with timer.phase("step"):
        with autocast(x.device, amp):
            loss, stats = method.loss(model, x, y, generator=generator, grad_scale=scaler.scale)
        if not torch.isfinite(loss):
            hint = " or run without --amp" if amp else ""
            raise NonFiniteLossError(
                f"non-finite loss ({loss.item()}) at {where}; lower the learning rate{hint}."
            )
        scaler.scale(loss).backward()
    with timer.phase("optimizer"):
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    return loss, stats, timer.end_batch(stats)


@dataclass
class TrainContext:
    """What every epoch of a run trains with."""

    method: Method
    method_name: str
    model: nn.Module
    """The module the method trains (a DDP replica under torchrun)."""
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    timer: BatchTimer
    device: torch.device
    world: Distributed
    amp: bool = False
    epochs: int = 1
    limit_batches: int | None = None
    progress: bool = False
    hooks: Sequence[BatchHook] = ()


def train_one_epoch(
    ctx: TrainContext, loader, epoch: int, generator: torch.Generator
) -> tuple[dict[str, float], list[BatchRecord]]:
    """Train one epoch; returns its metrics (averaged over ranks) and the per-batch records."""
    ctx.model.train()
    n_batches = len(loader) if ctx.limit_batches is None else min(len(loader), ctx.limit_batches)
    means = {key: _mean(ctx.device) for key in EPOCH_MEANS}
    records: list[BatchRecord] = []
    lr = ctx.optimizer.param_groups[0]["lr"]
    bar = tqdm(
        total=n_batches,
        desc=f"{ctx.method_name} epoch {epoch + 1}/{ctx.epochs}",
        unit="batch",
        disable=not (ctx.progress and ctx.world.is_main),
        leave=False,
    )
    for index, (x, y) in zip(range(n_batches), _timed(loader, ctx), strict=False):
        where = f"epoch {epoch + 1}, batch {index + 1} with method {ctx.method_name!r}"
        lr = ctx.optimizer.param_groups[0]["lr"]
        loss, stats, seconds = training_step(
            ctx.method, ctx.model, x, y, ctx.optimizer, ctx.scaler, ctx.timer,
            amp=ctx.amp, generator=generator, where=where,
        )  # fmt: skip
        ctx.scheduler.step()
        values = {"loss": loss.item()} | stats
        for key, source in EPOCH_MEANS.items():
            if source in values:
                means[key].update(values[source])
        records.append((epoch * n_batches + index, {f"batch_{k}": v for k, v in values.items()}))
        bar.set_postfix(
            loss=f"{_local_mean(means['train_loss']):.4f}",
            img_s=f"{x.shape[0] / max(seconds['total'], 1e-9):.0f}",
        )
        bar.update()
        for hook in ctx.hooks:
            hook(epoch, index)
    bar.close()
    return _epoch_metrics(means) | {"lr": lr}, records


def _timed(loader, ctx: TrainContext):
    """The loader's batches on the device, the wait for each timed as the ``data`` phase."""
    iterator = iter(loader)
    while True:
        with ctx.timer.phase("data"):
            try:
                x, y = next(iterator)
            except StopIteration:
                return
            x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
        yield x, y


def _mean(device: torch.device) -> MeanMetric:
    # float64 sums, as Python's; NaN kept (a diverging loss must show, not be dropped).
    return MeanMetric(nan_strategy="disable").set_dtype(torch.float64).to(device)


def _local_mean(metric: MeanMetric) -> float:
    """This rank's running mean, read without a collective (for the progress bar)."""
    return (metric.mean_value / metric.weight.clamp(min=1)).item()


def _epoch_metrics(means: dict[str, MeanMetric]) -> dict[str, float]:
    """Each mean over every rank's batches; method stats that no batch reported are left out
    (every rank runs the same method, so each knows what the others reported)."""
    result = {key: metric.compute().item() for key, metric in means.items() if metric.update_count}
    if "train_clean_accuracy" in result:
        result["train_clean_accuracy"] *= 100
    return result
