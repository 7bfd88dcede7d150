"""The one training runner: a TrainConfig -> one MLflow run, checkpointed, resumable, timed.

``train(config)`` builds the data, the model and the method by name, then per epoch trains
(every batch timed by phase), evaluates (top-1/top-5 error, expected calibration error),
logs to MLflow and writes a checkpoint atomically. Datasets with a validation split (Speech
Commands) are evaluated on it too each epoch (``val_*`` metrics); ``patience`` then stops on
the validation accuracy and ``test_top1_error_at_best_val`` records the test error at the best
validation epoch, else both use the test set. Rerunning the same command, or
``--resume``, continues the same MLflow run from the last checkpoint; a run killed mid-epoch
and resumed ends with the same metrics as an uninterrupted one (tested on the CPU). A failed
run is marked FAILED with its error; a non-finite loss stops the run naming the batch.

Under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel, each rank
mixes its own shard of the batch, evaluation counts are summed across ranks and only rank 0
talks to MLflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics.classification import MulticlassCalibrationError
from tqdm.auto import tqdm

from baselines.manifold_mixup import StagedForward
from benchmarks import checkpoint
from benchmarks.configs import Phase, TrainConfig
from benchmarks.data import (
    build_splits,
    check_dataset,
    dataset_spec,
    make_loaders,
    set_train_crop,
)
from benchmarks.methods import get_method
from benchmarks.models import get_model
from benchmarks.plots import learning_curves, sample_grid
from benchmarks.timing import BatchTimer
from benchmarks.tracking import environment_tags, setup_tracking
from comixup.method import CLEAN_ACCURACY, LAMBDA

CHECKPOINT_ROOT = Path("checkpoints")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class RunResult:
    run_id: str
    metrics: dict[str, float]
    history: dict[str, list[float]]
    checkpoint_path: Path


BatchHook = Callable[[int, int], None]
"""Called as ``hook(epoch, batch)`` after each training batch (tests use it to interrupt)."""


# ---------------------------------------------------------------------------- distributed ----


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> Distributed:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size())


def reduce_sum(values: torch.Tensor, world: Distributed) -> torch.Tensor:
    if world.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def epoch_seed(seed: int, rank: int, epoch: int) -> int:
    """A distinct, reproducible seed for each (run seed, rank, epoch)."""
    digest = hashlib.sha256(f"{seed}/{rank}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def average_buffers(model: nn.Module, world: Distributed) -> None:
    """Average floating-point buffers (batch-norm statistics) across ranks, so that every
    replica evaluates and checkpoints the same model (timm's ``distribute_bn`` with reduce)."""
    if not world.enabled:
        return
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer /= world.world_size


# ------------------------------------------------------------------------------- building ----


def pick_device(world: Distributed) -> torch.device:
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", world.rank))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def checkpoint_path(config: TrainConfig, root: Path = CHECKPOINT_ROOT) -> Path:
    """One checkpoint per (dataset, model, method, seed, rest of the config)."""
    digest = hashlib.sha1(json.dumps(config.to_params(), sort_keys=True).encode()).hexdigest()
    name = f"{config.dataset}-{config.model}-{config.method}-seed{config.seed}-{digest[:8]}"
    return root / name / "last.pt"


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


def build_optimizer(model: nn.Module, config: TrainConfig):
    """SGD with the config's momentum, or Adam (default betas) for configs whose ``optimizer``
    is ``adam`` (``benchmarks.configs.speech``); MultiStepLR on the milestones either way."""
    if getattr(config, "optimizer", "sgd") == "adam":
        optimizer = torch.optim.Adam(
            _parameter_groups(model, config), lr=config.lr, weight_decay=config.weight_decay
        )
    else:
        optimizer = torch.optim.SGD(
            _parameter_groups(model, config),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.nesterov,
        )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(config.milestones), gamma=config.lr_decay
    )
    return optimizer, scheduler


def autocast(device: torch.device, enabled: bool):
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


# ----------------------------------------------------------------------------- evaluation ----


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    num_classes: int,
    device: torch.device,
    *,
    amp: bool,
    limit: int | None,
) -> dict[str, float]:
    """Top-1/top-5 error (%), cross-entropy and 10-bin expected calibration error.

    The test loader is not sharded across ranks, so every rank computes the same numbers.
    """
    model.eval()
    calibration = MulticlassCalibrationError(num_classes=num_classes, n_bins=10, norm="l1")
    correct_top1 = correct_top5 = loss_sum = count = 0.0
    for index, (x, y) in enumerate(loader):
        if limit is not None and index >= limit:
            break
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(x).float()
        top5 = logits.topk(min(5, num_classes), dim=1).indices
        correct_top1 += (top5[:, 0] == y).sum().item()
        correct_top5 += (top5 == y.unsqueeze(1)).any(1).sum().item()
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        count += y.numel()
        calibration.update(logits.softmax(1).cpu(), y.cpu())
    count = max(count, 1.0)
    return {
        "test_top1_error": 100 * (1 - correct_top1 / count),
        "test_top5_error": 100 * (1 - correct_top5 / count),
        "test_loss": loss_sum / count,
        "test_ece": calibration.compute().item(),
    }


# ------------------------------------------------------------------------------- training ----


class _InputRecorder:
    """Keeps the input of the model's last forward call (the mixed batch, for the sample grid)."""

    def __init__(self, model: nn.Module) -> None:
        self.last: torch.Tensor | None = None
        self._hook = model.register_forward_pre_hook(self._record)

    def _record(self, _module, args) -> None:
        if args and isinstance(args[0], torch.Tensor):
            self.last = args[0].detach().float().cpu()

    def remove(self) -> None:
        self._hook.remove()


def eval_loader(dataset, batch_size: int, workers: int) -> DataLoader:
    """An in-order loader over every item (the validation set), as ``make_loaders``' test one."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
    )


def _batches_per_epoch(loader, limit: int | None) -> int:
    return len(loader) if limit is None else min(len(loader), limit)


def train(
    config: TrainConfig,
    *,
    resume: bool = True,
    checkpoint_root: Path = CHECKPOINT_ROOT,
    progress: bool = True,
    batch_hook: BatchHook | None = None,
) -> RunResult:
    """Train ``config`` to the end (or early stop), logging to MLflow; see the module docstring.

    Args:
        resume: continue from this config's checkpoint when one exists (False starts over).
        checkpoint_root: folder for the per-run checkpoint folders.
        progress: show a progress bar with the running loss and throughput.
        batch_hook: called after every training batch with (epoch, batch index).
    """
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    world = init_distributed(device_type)
    device = pick_device(world)
    spec = dataset_spec(config.dataset)
    # Everything that can fail on the user's input fails here, before any run is created.
    train_set, test_set, val_set = build_splits(
        config.dataset, config.data_dir, download=config.download
    )
    check_dataset(train_set, spec, split="train")
    check_dataset(test_set, spec, split="test")
    if val_set is not None:
        check_dataset(val_set, spec, split="validation")
    method = get_method(
        config.method,
        num_classes=spec.num_classes,
        dataset=config.dataset,
        **config.method_settings,
    )
    torch.manual_seed(config.seed)
    model = get_model(config.model, spec.num_classes, width=config.width, stride=config.stride)
    model.to(device)
    train_model: nn.Module = model
    if world.enabled:
        # StagedForward lets Manifold Mixup's hidden-state mix run inside DDP's forward.
        # Buffers are not broadcast at every forward: Co-Mixup, Puzzle Mix and VAT make
        # several forwards before one backward, and an in-place broadcast between them breaks
        # autograd; batch-norm statistics are averaged across ranks after each epoch instead.
        train_model = nn.parallel.DistributedDataParallel(
            StagedForward(model),
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=False,
        )
    optimizer, scheduler = build_optimizer(model, config)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp and device.type == "cuda")

    def loaders_for(phase: Phase | None):
        """Train and test loaders for ``phase`` (its batch size and crops) or the config."""
        if phase is not None and phase.crop_size is not None:
            set_train_crop(train_set, config.dataset, phase.crop_size, phase.min_scale)
        batch_size = phase.batch_size if phase is not None else config.batch_size
        return make_loaders(
            train_set,
            test_set,
            batch_size=max(batch_size // world.world_size, 1),
            seed=config.seed,
            workers=config.workers,
            distributed=world.enabled,
        )

    # The method's draws and the data order are re-seeded every epoch from (seed, rank,
    # epoch): one seed for all ranks, each rank drawing its own mixes, and a resumed epoch
    # drawing exactly what it drew before the interruption.
    method_generator = torch.Generator()
    generators: dict[str, torch.Generator] = {}

    path = checkpoint_path(config, checkpoint_root)
    state = checkpoint.load(path) if resume and path.exists() else None
    # best_accuracy: of the monitored split (validation where there is one, else test).
    start_epoch, best_accuracy, stale_epochs, test_at_best = 0, -1.0, 0, math.nan
    history: dict[str, list[float]] = defaultdict(list)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        checkpoint.restore_random_states(state["random"], generators)
        start_epoch = state["epoch"]
        best_accuracy, stale_epochs = state["best_accuracy"], state["stale_epochs"]
        test_at_best = state.get("test_at_best", math.nan)
        history.update({key: list(values) for key, values in state["history"].items()})
    else:
        torch.manual_seed(config.seed)

    if state is not None and (state["epoch"] >= config.epochs or state.get("stopped", False)):
        final = {key: values[-1] for key, values in history.items() if values}
        return RunResult(state["run_id"], final, dict(history), path)

    run_id = ""
    if world.is_main:
        setup_tracking(config.dataset)
        run = mlflow.start_run(
            run_id=state["run_id"] if state is not None else None,
            run_name=None
            if state is not None
            else f"{config.method}-{config.model}-s{config.seed}",
        )
        run_id = run.info.run_id
        if state is None:
            _log_start(config, method, device, world)
    timer = BatchTimer(device, warmup=config.warmup_batches)
    phase = active_phase(config, start_epoch)
    train_loader, test_loader = loaders_for(phase)
    val_loader = None
    if val_set is not None:
        val_loader = eval_loader(val_set, config.batch_size, config.workers)
    recorder = _InputRecorder(train_model) if world.is_main and start_epoch == 0 else None
    metrics: dict[str, float] = {}
    try:
        for epoch in range(start_epoch, config.epochs):
            if active_phase(config, epoch) is not phase:
                phase = active_phase(config, epoch)
                train_loader, test_loader = loaders_for(phase)
            method_generator.manual_seed(epoch_seed(config.seed, world.rank, epoch))
            data_generator = getattr(train_loader, "generator", None)
            if isinstance(data_generator, torch.Generator):
                data_generator.manual_seed(epoch_seed(config.seed, -1, epoch))
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            epoch_metrics = _train_epoch(
                config,
                method,
                train_model,
                train_loader,
                optimizer,
                scaler,
                timer,
                device,
                world,
                epoch,
                method_generator,
                progress,
                batch_hook,
                recorder,
                run_id,
                learning_rate(phase),
            )
            if recorder is not None:
                recorder.remove()
                recorder = None
            scheduler.step()
            average_buffers(model, world)
            epoch_metrics |= evaluate(
                model,
                test_loader,
                spec.num_classes,
                device,
                amp=config.amp,
                limit=config.limit_eval_batches,
            )
            monitored = "test"
            if val_loader is not None:
                monitored = "val"
                val_metrics = evaluate(
                    model,
                    val_loader,
                    spec.num_classes,
                    device,
                    amp=config.amp,
                    limit=config.limit_eval_batches,
                )
                epoch_metrics |= {
                    key.replace("test_", "val_", 1): value for key, value in val_metrics.items()
                }
            epoch_metrics |= timer.summary()
            accuracy = 100 - epoch_metrics[f"{monitored}_top1_error"]
            if accuracy > best_accuracy:
                best_accuracy, stale_epochs = accuracy, 0
                test_at_best = epoch_metrics["test_top1_error"]
            else:
                stale_epochs += 1
            epoch_metrics[f"best_{monitored}_top1_error"] = 100 - best_accuracy
            if val_loader is not None:
                epoch_metrics["test_top1_error_at_best_val"] = test_at_best
            for key, value in epoch_metrics.items():
                history[key].append(value)
            metrics = epoch_metrics
            stop = config.patience is not None and stale_epochs >= config.patience
            if world.is_main:
                mlflow.log_metrics(epoch_metrics, step=epoch)
                if progress:
                    tqdm.write(_epoch_line(config, epoch, epoch_metrics))
                checkpoint.save_atomic(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "scaler": scaler.state_dict(),
                        "epoch": epoch + 1,
                        "best_accuracy": best_accuracy,
                        "stale_epochs": stale_epochs,
                        "test_at_best": test_at_best,
                        "history": dict(history),
                        "random": checkpoint.random_states(generators),
                        "run_id": run_id,
                        "stopped": stop,
                        "config": config.to_params(),
                    },
                    path,
                )
            if stop:
                if world.is_main:
                    mlflow.set_tag("early_stopped_epoch", str(epoch))
                break
        if world.is_main:
            _log_end(history, path, metrics)
            mlflow.end_run("FINISHED")
    except KeyboardInterrupt:
        if world.is_main:
            mlflow.set_tag("interrupted", "resume with the same command or --resume")
            mlflow.end_run("KILLED")
        raise
    except BaseException as error:
        if world.is_main:
            mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
            mlflow.end_run("FAILED")
        raise
    return RunResult(run_id, metrics, dict(history), path)


def _epoch_line(config: TrainConfig, epoch: int, metrics: dict[str, float]) -> str:
    per_batch = metrics.get("time_total_median_ms")
    timing = f", {per_batch:.0f} ms/batch" if per_batch is not None else ""
    return (
        f"{config.method} epoch {epoch + 1}/{config.epochs}: train loss "
        f"{metrics['train_loss']:.4f}, test top-1 error {metrics['test_top1_error']:.2f}%, "
        f"ECE {metrics['test_ece']:.3f}{timing}"
    )


def _log_start(config: TrainConfig, method, device: torch.device, world: Distributed) -> None:
    params = config.to_params()
    method_config = getattr(method, "config", None)
    if dataclasses.is_dataclass(method_config):
        for key, value in dataclasses.asdict(method_config).items():
            params[f"method.{key}"] = json.dumps(value)
    params["precision"] = (
        ("float16" if device.type == "cuda" else "bfloat16") if config.amp else "float32"
    )
    params["world_size"] = str(world.world_size)
    mlflow.log_params(params)
    mlflow.set_tags(
        environment_tags(device)
        | {
            "method": config.method,
            "dataset": config.dataset,
            "model": config.model,
            "seed": str(config.seed),
        }
    )
    mlflow.log_dict(dataclasses.asdict(config), "config.json")


def _log_end(history: dict[str, list[float]], path: Path, metrics: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        figure = Path(folder) / "learning_curves.png"
        learning_curves(history, figure)
        mlflow.log_artifact(str(figure))
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path="checkpoint")


def training_step(
    method,
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
            loss, stats = method.loss(model, x, y, generator=generator)
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


def _train_epoch(
    config: TrainConfig,
    method,
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    timer: BatchTimer,
    device: torch.device,
    world: Distributed,
    epoch: int,
    generator: torch.Generator,
    progress: bool,
    batch_hook: BatchHook | None,
    recorder: _InputRecorder | None,
    run_id: str,
    lr_at: Callable[[float], float] | None,
) -> dict[str, float]:
    model.train()
    n_batches = _batches_per_epoch(loader, config.limit_batches)
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    batch_metrics: list[tuple[int, dict[str, float]]] = []
    bar = tqdm(
        total=n_batches,
        desc=f"{config.method} epoch {epoch + 1}/{config.epochs}",
        unit="batch",
        disable=not (progress and world.is_main),
        leave=False,
    )
    iterator = iter(loader)
    for index in range(n_batches):
        with timer.phase("data"):
            x, y = next(iterator)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch + (index + 1) / n_batches)
        loss, stats, seconds = training_step(
            method,
            model,
            x,
            y,
            optimizer,
            scaler,
            timer,
            amp=config.amp,
            generator=generator,
            where=f"epoch {epoch + 1}, batch {index + 1} with method {config.method!r}",
        )
        value = loss.item()
        sums["train_loss"] += value
        counts["train_loss"] += 1
        for key in (CLEAN_ACCURACY, LAMBDA):
            if key in stats:
                sums[key] += stats[key]
                counts[key] += 1
        step = epoch * n_batches + index
        batch_metrics.append(
            (step, {"batch_loss": value} | {f"batch_{k}": v for k, v in stats.items()})
        )
        if recorder is not None and index == 0 and recorder.last is not None and world.is_main:
            _log_samples(recorder.last, config)
        bar.set_postfix(
            loss=f"{sums['train_loss'] / counts['train_loss']:.4f}",
            img_s=f"{x.shape[0] / max(seconds['total'], 1e-9):.0f}",
        )
        bar.update()
        if batch_hook is not None:
            batch_hook(epoch, index)
    bar.close()
    totals = torch.tensor(
        [
            sums["train_loss"],
            counts["train_loss"],
            sums[CLEAN_ACCURACY],
            counts[CLEAN_ACCURACY],
            sums[LAMBDA],
            counts[LAMBDA],
        ],
        dtype=torch.float64,
        device=device,
    )
    totals = reduce_sum(totals, world).cpu().tolist()
    result = {"train_loss": totals[0] / max(totals[1], 1), "lr": optimizer.param_groups[0]["lr"]}
    if totals[3]:
        result["train_clean_accuracy"] = 100 * totals[2] / totals[3]
    if totals[5]:
        result["train_lambda"] = totals[4] / totals[5]
    if world.is_main:
        # Per-batch values are written once the epoch is complete, so an interrupted epoch
        # leaves no partial trace and its rerun after resuming logs each step exactly once.
        _log_batch_metrics(run_id, batch_metrics)
    return result


def _log_batch_metrics(run_id: str, batch_metrics: list[tuple[int, dict[str, float]]]) -> None:
    now = int(time.time() * 1000)
    entries = [
        Metric(key, value, now, step)
        for step, values in batch_metrics
        for key, value in values.items()
        if math.isfinite(value)
    ]
    client = MlflowClient()
    for start in range(0, len(entries), 1000):  # MLflow's per-request limit
        client.log_batch(run_id, metrics=entries[start : start + 1000])


def _log_samples(images: torch.Tensor, config: TrainConfig) -> None:
    spec = dataset_spec(config.dataset)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed_samples.png"
        sample_grid(images, spec.mean, spec.std, path, title=f"{config.method}: first batch")
        mlflow.log_artifact(str(path))
