"""The one training runner: a TrainConfig -> one MLflow run, checkpointed, resumable, timed.

``train(config)`` builds the data, the model and the method by name, then per epoch trains
(``runner.engine``: every batch timed by phase, the learning rate from a per-iteration
schedule, ``runner.optim``), evaluates (``runner.evaluate``: top-1/top-5 error, loss,
expected calibration error), logs to MLflow (``runner.tracking``) and writes a checkpoint
atomically (``runner.checkpoint``). Datasets with a validation split (Speech Commands) are
evaluated on it too each epoch (``val_*`` metrics); ``patience`` then stops on the validation
accuracy and ``test_top1_error_at_best_val`` records the test error at the best validation
epoch, else both use the test set (``runner.early_stopping``). Rerunning the same command,
or ``--resume``, continues the same MLflow run from the last checkpoint (or, killed before its
first checkpoint, from the start: the run id is recorded when the run is created); a run killed
mid-epoch and resumed ends with the same metrics as an uninterrupted one, because every random
stream of an epoch follows from the seed (``benchmarks.seeding``), and with one point per step
of every metric. The caller's ``tags`` (a sweep's place of the run) are set when the run is
created. At its end a run logs its final test-set predictions (``predictions.npz``,
``runner.predictions``). The run records how it ended: FINISHED only when training completed,
KILLED on Ctrl-C or SIGTERM (``runner.interrupts``), FAILED with the error otherwise; a
non-finite loss stops the run naming the batch. Input the user can fix fails before any run
starts, as a ``UserError`` (``benchmarks.errors``).

Under ``torchrun`` (WORLD_SIZE > 1) the model trains as a DistributedDataParallel replica
(``runner.distributed``), each rank mixes its own shard of the batch and evaluates its share of
the evaluation sets, and only rank 0 talks to MLflow and writes checkpoints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from benchmarks.configs import Phase, TrainConfig
from benchmarks.data import build_splits, check_dataset, dataset_spec, make_loaders, set_train_crop
from benchmarks.data.spec import DatasetSpec
from benchmarks.errors import user_input
from benchmarks.methods import get_method
from benchmarks.models import check_model_fits, get_model
from benchmarks.runner import interrupts, tracking
from benchmarks.runner.batch_timer import BatchTimer
from benchmarks.runner.checkpoint import (
    CHECKPOINT_ROOT,
    TrainState,
    checkpoint_path,
    discard,
    load,
    record_run,
    recorded_run,
    save_atomic,
)
from benchmarks.runner.distributed import (
    Distributed,
    average_buffers,
    init_distributed,
    pick_device,
    wrap_for_training,
)
from benchmarks.runner.early_stopping import EarlyStopping
from benchmarks.runner.engine import BatchHook, NonFiniteLossError, TrainContext, train_one_epoch
from benchmarks.runner.evaluate import eval_loader, evaluate, predict, reported_errors
from benchmarks.runner.optim import EpochPlan, active_phase, build_optimizer, build_scheduler
from benchmarks.runner.predictions import Predictions, gather
from benchmarks.seeding import Stream, derive_seed, seed_epoch, seed_host

__all__ = ["BatchHook", "NonFiniteLossError", "RunResult", "checkpoint_path", "train"]


@dataclass
class RunResult:
    run_id: str
    metrics: dict[str, float]
    history: dict[str, list[float]]
    checkpoint_path: Path


@dataclass
class _Run:
    """One run's fixed parts and its state between epochs."""

    config: TrainConfig
    world: Distributed
    spec: DatasetSpec
    splits: tuple  # train, test, validation (or None)
    model: nn.Module
    ctx: TrainContext
    stopping: EarlyStopping
    path: Path
    run_id: str = ""
    start_epoch: int = 0
    relog_epoch: int | None = None
    """The first epoch of a reopened run, which an earlier attempt may have logged in part."""
    history: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    tags: Mapping[str, str] = field(default_factory=dict)
    method_generator: torch.Generator = field(default_factory=torch.Generator)


def train(
    config: TrainConfig,
    *,
    resume: bool = True,
    checkpoint_root: Path = CHECKPOINT_ROOT,
    progress: bool = True,
    batch_hook: BatchHook | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunResult:
    """Train ``config`` to the end (or early stop), logging to MLflow; see the module docstring.

    Args:
        resume: continue from this config's checkpoint when one exists (False starts over).
        checkpoint_root: folder for the per-run checkpoint folders.
        progress: show a progress bar with the running loss and throughput.
        batch_hook: called after every training batch with (epoch, batch index).
        tags: set on the MLflow run at its creation; a resumed run keeps those it had.
    """
    world = init_distributed("cuda" if torch.cuda.is_available() else "cpu")
    with user_input():
        run = _build(config, world, pick_device(world), checkpoint_root, progress)
        run.tags = dict(tags or {})
        _starting_point(run, resume)
    if batch_hook is not None:
        run.ctx.hooks = [*run.ctx.hooks, batch_hook]
    with interrupts.stop_on_signals():
        if world.is_main and _recorded_as_finished(run):
            return _result(run)
        try:
            if world.is_main:
                _open_run(run)
            _train_epochs(run, run.start_epoch)
            predictions = _final_predictions(run)
            if world.is_main:
                _finish(run, predictions)
        except BaseException as error:
            if world.is_main:
                tracking.end_interrupted(error)
            raise
    return _result(run)


def _starting_point(run: _Run, resume: bool) -> None:
    """Restore the checkpoint (``resume``), or take the run id an earlier attempt recorded
    before its first checkpoint; without ``resume``, discard both (rank 0)."""
    if not resume:
        if run.world.is_main:
            discard(run.path)
        return
    if run.path.exists():
        state = load(run.path)
        _restore(run, state)
        run.start_epoch = state.epoch
        if run.world.is_main:
            tracking.setup_tracking(run.config.dataset)
            tracking.require_run(run.run_id, run.path, recorded_run(run.path).get("tracking_uri"))
    elif run.world.is_main:
        run_id = recorded_run(run.path).get("run_id")
        tracking.setup_tracking(run.config.dataset)
        if run_id and tracking.find_run(run_id) is not None:
            run.run_id = run_id


def _recorded_as_finished(run: _Run) -> bool:
    """Whether the checkpoint is the end of training and its run is FINISHED (a run killed
    after its last checkpoint is reopened and finished)."""
    if run.start_epoch < run.config.epochs and not run.stopping.stopped:
        return False
    return tracking.find_run(run.run_id).info.status == "FINISHED"


def _result(run: _Run) -> RunResult:
    final = {key: values[-1] for key, values in run.history.items() if values}
    return RunResult(run.run_id, final, dict(run.history), run.path)


def _open_run(run: _Run) -> None:
    """Rank 0: start (or reopen) the MLflow run and record its id next to the checkpoint; log
    what the run lacks of its config, and at epoch 0 the mixed samples of its first batch."""
    config = run.config
    reopened = bool(run.run_id)
    with interrupts.deferred():
        run.run_id = tracking.start_training_run(config, run.run_id or None, run.tags)
        record_run(run.path, run.run_id, tracking.tracking_uri())
    run.relog_epoch = run.start_epoch if reopened else None
    tracking.log_start(config, run.ctx.method, run.ctx.device, run.world.world_size)
    if run.start_epoch == 0:
        title = f"{config.method}: first batch"
        samples = tracking.SampleLogger(run.ctx.model, run.spec.mean, run.spec.std, title)
        run.ctx.hooks = [samples, *run.ctx.hooks]


def _final_predictions(run: _Run) -> Predictions:
    """The final model's predictions on the batches of the test set its last evaluation saw
    (the same batch size and ``limit_eval_batches``), every rank's share joined; all ranks call
    it. A pass of its own rather than a copy kept from the last epoch: a run resumed after its
    last checkpoint has only the model to take them from."""
    config, world = run.config, run.world
    last_epoch = max(len(run.history["test_top1_error"]) - 1, 0)
    batch_size = _per_rank_batch(config, active_phase(config, last_epoch), world)
    loader = eval_loader(run.splits[1], batch_size, config.workers, world)
    share = predict(
        run.model, loader, run.ctx.device, amp=config.amp, limit=config.limit_eval_batches
    )
    return gather(share, world)


def _finish(run: _Run, predictions: Predictions) -> None:
    """Rank 0: the early-stop tag, the end artifacts, FINISHED."""
    if run.stopping.stopped:
        tracking.mark_early_stopped(len(run.history["test_top1_error"]) - 1)
    tracking.log_end(run.history, run.path, predictions)


def _train_epochs(run: _Run, start_epoch: int) -> None:
    """Epochs from ``start_epoch`` to the end or an early stop."""
    config = run.config
    loaders, phase = None, None
    for epoch in range(start_epoch, config.epochs):
        if run.stopping.stopped:
            break
        if loaders is None or active_phase(config, epoch) is not phase:
            phase = active_phase(config, epoch)
            loaders = _loaders(run, phase)
        metrics = _train_and_evaluate(run, epoch, *loaders)
        accuracy = 100 - metrics[f"{_monitored(run)}_top1_error"]
        run.stopping.update(accuracy, test_error=metrics["test_top1_error"])
        metrics |= _stopping_metrics(run)
        _record(run, epoch, metrics)


def _build(
    config: TrainConfig,
    world: Distributed,
    device: torch.device,
    checkpoint_root: Path,
    progress: bool,
) -> _Run:
    """Data, method, model, optimiser and schedule; everything that can fail on the user's
    input fails here, before any MLflow run is created."""
    spec = dataset_spec(config.dataset)
    check_model_fits(config.model, spec.channels, config.dataset)
    splits = build_splits(config.dataset, config.data_dir, download=config.download)
    for dataset, split in zip(splits, ("train", "test", "validation"), strict=True):
        if dataset is not None:
            check_dataset(dataset, spec, split=split)
    method = get_method(
        config.method,
        num_classes=spec.num_classes,
        dataset=config.dataset,
        **config.method_settings,
    )
    seed_host(derive_seed(config.seed, Stream.INIT))
    model = get_model(config.model, spec.num_classes, width=config.width, stride=config.stride)
    model.to(device)
    optimizer = build_optimizer(model, config)
    ctx = TrainContext(
        method=method,
        method_name=config.method,
        model=wrap_for_training(model, method, world, device),
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config, _epoch_plan(config, splits[0], world)),
        scaler=torch.amp.GradScaler(device.type, enabled=config.amp and device.type == "cuda"),
        timer=BatchTimer(device, warmup=config.warmup_batches),
        device=device,
        world=world,
        amp=config.amp,
        epochs=config.epochs,
        limit_batches=config.limit_batches,
        progress=progress,
    )
    stopping = EarlyStopping(config.patience)
    path = checkpoint_path(config, checkpoint_root)
    return _Run(config, world, spec, splits, model, ctx, stopping, path)


def _per_rank_batch(config: TrainConfig, phase: Phase | None, world: Distributed) -> int:
    batch_size = phase.batch_size if phase is not None else config.batch_size
    return max(batch_size // world.world_size, 1)


def _train_loader(config: TrainConfig, train_set, phase: Phase | None, world: Distributed):
    batch_size = _per_rank_batch(config, phase, world)
    common = {"seed": config.seed, "workers": config.workers, "distributed": world.enabled}
    return make_loaders(train_set, train_set, batch_size=batch_size, **common)[0]


def _epoch_plan(config: TrainConfig, train_set, world: Distributed) -> EpochPlan:
    """The optimiser steps of every epoch (phases change the batch size)."""
    steps: dict[Phase | None, int] = {}
    for epoch in range(config.epochs):
        phase = active_phase(config, epoch)
        if phase not in steps:
            batches = len(_train_loader(config, train_set, phase, world))
            steps[phase] = min(batches, config.limit_batches or batches)
    return EpochPlan(tuple(steps[active_phase(config, e)] for e in range(config.epochs)))


def _loaders(run: _Run, phase: Phase | None):
    """Train, test and validation (or None) loaders for ``phase`` (its batch size and crop)."""
    config, world = run.config, run.world
    train_set, test_set, val_set = run.splits
    if phase is not None and phase.crop_size is not None:
        set_train_crop(train_set, config.dataset, phase.crop_size, phase.min_scale)
    per_rank = _per_rank_batch(config, phase, world)
    test_loader = eval_loader(test_set, per_rank, config.workers, world)
    val_loader = None
    if val_set is not None:
        val_loader = eval_loader(val_set, config.batch_size, config.workers, world)
    return _train_loader(config, train_set, phase, world), test_loader, val_loader


def _restore(run: _Run, state: TrainState) -> None:
    run.model.load_state_dict(state.model)
    run.ctx.optimizer.load_state_dict(state.optimizer)
    run.ctx.scheduler.load_state_dict(state.scheduler)
    run.ctx.scaler.load_state_dict(state.scaler)
    run.stopping.load_state_dict(state.early_stopping)
    run.history.update({key: list(values) for key, values in state.history.items()})
    run.ctx.timer.load_state_dict(state.timer)
    run.run_id = state.run_id


def _monitored(run: _Run) -> str:
    """The split early stopping watches: validation where there is one, else test."""
    return "val" if run.splits[2] is not None else "test"


def _train_and_evaluate(run: _Run, epoch: int, train_loader, test_loader, val_loader):
    """One epoch: seed it, train it, average batch-norm statistics, evaluate; its metrics."""
    config, generator = run.config, run.method_generator
    seed_epoch(config.seed, epoch, run.world.rank, method_generator=generator, loader=train_loader)
    metrics, records = train_one_epoch(run.ctx, train_loader, epoch, generator)
    if run.world.is_main:
        # Per-batch values are written once the epoch is complete, so an interrupted epoch
        # leaves no partial trace; a resumed epoch skips what an earlier attempt logged.
        relog = epoch == run.relog_epoch
        tracking.log_batch_metrics(run.run_id, records, skip_logged=relog)
    average_buffers(run.model, run.world)
    args = (run.model, test_loader, run.spec.num_classes, run.ctx.device)
    metrics |= evaluate(*args, amp=config.amp, limit=config.limit_eval_batches)
    if val_loader is not None:
        args = (run.model, val_loader, run.spec.num_classes, run.ctx.device)
        val = evaluate(*args, amp=config.amp, limit=config.limit_eval_batches)
        metrics |= {key.replace("test_", "val_", 1): value for key, value in val.items()}
    return metrics | run.ctx.timer.summary()


def _stopping_metrics(run: _Run) -> dict[str, float]:
    metrics = {f"best_{_monitored(run)}_top1_error": run.stopping.best_error}
    if run.splits[2] is not None:
        metrics["test_top1_error_at_best_val"] = run.stopping.test_error_at_best
    return metrics


def _record(run: _Run, epoch: int, metrics: dict[str, float]) -> None:
    """Add the reported statistics (median of the last 10 epochs, last, best), append to the
    history; on rank 0 log to MLflow, print the epoch line, checkpoint (a signal waits until
    both are written)."""
    run.history["test_top1_error"].append(metrics["test_top1_error"])
    metrics = metrics | reported_errors(run.history["test_top1_error"])
    for key, value in metrics.items():
        if key != "test_top1_error":
            run.history[key].append(value)
    if not run.world.is_main:
        return
    with interrupts.deferred():
        tracking.log_epoch(run.run_id, metrics, epoch, skip_logged=epoch == run.relog_epoch)
        if run.ctx.progress:
            tqdm.write(_epoch_line(run.config, epoch, metrics))
        save_atomic(_state(run, epoch), run.path)


def _state(run: _Run, epoch: int) -> TrainState:
    ctx = run.ctx
    return TrainState(
        model=run.model.state_dict(),
        optimizer=ctx.optimizer.state_dict(),
        scheduler=ctx.scheduler.state_dict(),
        scaler=ctx.scaler.state_dict(),
        early_stopping=run.stopping.state_dict(),
        epoch=epoch + 1,
        history=dict(run.history),
        run_id=run.run_id,
        config=run.config.to_params(),
        timer=ctx.timer.state_dict(),
    )


def _epoch_line(config: TrainConfig, epoch: int, metrics: dict[str, float]) -> str:
    per_batch = metrics.get("time_total_median_ms")
    timing = f", {per_batch:.0f} ms/batch" if per_batch is not None else ""
    return (
        f"{config.method} epoch {epoch + 1}/{config.epochs}: train loss "
        f"{metrics['train_loss']:.4f}, test top-1 error {metrics['test_top1_error']:.2f}%, "
        f"ECE {metrics['test_ece']:.3f}{timing}"
    )
