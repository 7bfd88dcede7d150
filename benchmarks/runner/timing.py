"""Per-batch training time of every method, split by phase, measured on this process's device
and logged as one MLflow run (experiment ``timing``): the measuring half of the timing
comparison; ``benchmarks.tables.step_time`` (``comixup-bench timing``) and
``benchmarks.tables.timing_table`` (``comixup-bench table timing``) build the tables from the
logged runs.

Each method trains the same model on the same fixed batch (so data loading is excluded) with
the runner's own ``training_step`` and ``BatchTimer``: CUDA events on a GPU, perf_counter on
the CPU, warm-up batches left out. Every figure is logged as a metric,
``time.<method>[.<backend>].<phase>_ms`` (:func:`frame_metrics`), with the setup as
``timing.*`` params and the device as tags (:func:`device_tags`). Two entry points:
:func:`measure_and_log` (``comixup-bench timing``) and :func:`time_run` (one run of
``comixup-bench sweep timing``, the training runner's call shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchmarks.configs import TrainConfig
from benchmarks.methods import METHOD_NAMES, get_method
from benchmarks.models import get_model
from benchmarks.runner import tracking
from benchmarks.runner.batch_timer import PHASES, BatchTimer
from benchmarks.runner.engine import training_step
from benchmarks.runner.optim import build_optimizer

EXPERIMENT = "timing"
"""The MLflow experiment of the timing runs."""

RATIOS = (("comixup", "vanilla"), ("comixup", "puzzle_mix"))
"""The ratios of total time per batch that :func:`run` computes, as (method, over): those the
supplement states (ImageNet ResNet-50, ``paper_values.toml [timing]``)."""


@dataclass(frozen=True)
class TimingSetup:
    model: str = "preactresnet18"
    width: int | None = None
    num_classes: int = 100
    batch_size: int = 100
    image_size: int = 32
    batches: int = 20
    warmup: int = 5
    seed: int = 0
    dataset: str = "cifar100"
    """Whose method defaults (``benchmarks.methods.DATASET_DEFAULTS``) and pixel
    normalisation the methods take; no data is read."""
    amp: bool = False


def default_setup(device: torch.device) -> TimingSetup:
    """CIFAR-100 PreActResNet18 at full width on a GPU; fewer batches on the CPU."""
    if device.type == "cuda":
        return TimingSetup()
    return TimingSetup(batches=5, warmup=1)


BACKENDS = ("compiled", "gco")
"""The labeling backends Puzzle Mix and Co-Mixup are timed with (``comixup.labeling``)."""
SOLVER_METHODS = ("puzzle_mix", "comixup")
"""The methods whose mixing phase is a graph-cut solver."""


def variants(methods: tuple[str, ...], backends: tuple[str, ...]) -> list[tuple[str, str, dict]]:
    """(row label, method, settings): one row per method, the solver methods once per backend
    (the first backend's row keeps the plain name, the one the ratios use)."""
    rows = []
    for name in methods:
        if name not in SOLVER_METHODS:
            rows.append((name, name, {}))
            continue
        for index, backend in enumerate(backends):
            label = name if index == 0 else f"{name} ({backend})"
            rows.append((label, name, {"labeling_backend": backend}))
    return rows


def time_method(
    name: str, setup: TimingSetup, device: torch.device, **settings: object
) -> dict[str, float]:
    """Median and p90 milliseconds per phase of ``setup.batches`` timed training steps."""
    generator = torch.Generator().manual_seed(setup.seed)
    x = torch.rand(setup.batch_size, 3, setup.image_size, setup.image_size, generator=generator)
    y = torch.randint(0, setup.num_classes, (setup.batch_size,), generator=generator)
    x, y = x.to(device), y.to(device)
    torch.manual_seed(setup.seed)
    model = get_model(setup.model, setup.num_classes, width=setup.width).to(device)
    model.train()
    method = get_method(name, num_classes=setup.num_classes, dataset=setup.dataset, **settings)
    optimizer = build_optimizer(model, TrainConfig(lr=0.01))
    scaler = torch.amp.GradScaler(device.type, enabled=setup.amp and device.type == "cuda")
    timer = BatchTimer(device, warmup=setup.warmup)
    for index in range(setup.warmup + setup.batches):
        with timer.phase("data"):
            pass
        training_step(
            method,
            model,
            x,
            y,
            optimizer,
            scaler,
            timer,
            amp=setup.amp,
            generator=generator,
            where=f"timing batch {index + 1} of {name}",
        )
    totals = timer.samples.get("total") or timer.warmup_samples.get("total", [])
    spread = float(np.std(totals, ddof=1) * 1000) if len(totals) > 1 else float("nan")
    return timer.summary() | {"time_total_std_ms": spread}


def run(
    setup: TimingSetup,
    device: torch.device,
    methods: tuple[str, ...] = METHOD_NAMES,
    *,
    backends: tuple[str, ...] = BACKENDS,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The per-method table (ms per batch by phase, the solver's share of the step) and the
    headline ratios; Puzzle Mix and Co-Mixup once per labeling backend."""
    rows = []
    jobs = variants(methods, backends)
    for label, name, settings in tqdm(jobs, desc="timing", unit="method", disable=not progress):
        summary = time_method(name, setup, device, **settings)
        row = {"method": label, "backend": settings.get("labeling_backend", "")}
        for phase in (*PHASES, "total"):
            row[f"{phase} (ms)"] = summary.get(f"time_{phase}_median_ms", 0.0)
        row["total p90 (ms)"] = summary.get("time_total_p90_ms", 0.0)
        row["total std (ms)"] = summary["time_total_std_ms"]
        row["mixing share"] = row["mixing (ms)"] / row["total (ms)"] if row["total (ms)"] else 0.0
        rows.append(row)
    frame = pd.DataFrame(rows)
    totals = dict(zip(frame["method"], frame["total (ms)"], strict=True))
    if "vanilla" in totals:
        frame["x vanilla"] = frame["total (ms)"] / totals["vanilla"]
    ratios = {f"{a}/{b}": totals[a] / totals[b] for a, b in RATIOS if a in totals and b in totals}
    return frame, ratios


def metric_prefix(method: str, backend: str) -> str:
    """The MLflow metric prefix of one timed row: ``time.<method>`` or, for the solver
    methods, ``time.<method>.<backend>``."""
    return f"time.{method}" + (f".{backend}" if backend else "")


def setup_from_config(config: TrainConfig) -> TimingSetup:
    """The timing setup a sweep run's config names: its model, width, batch and seed, its
    dataset's classes and image side (the last phase's crop when it has phases), and
    ``limit_batches`` timed batches after ``warmup_batches`` warm-up ones."""
    from benchmarks.data import dataset_spec

    spec = dataset_spec(config.dataset)
    last = config.phases[-1] if config.phases else None
    if config.limit_batches is None:
        raise ValueError(
            "a timing run needs limit_batches (the number of timed batches); set it, e.g. "
            "--set limit_batches=20."
        )
    return TimingSetup(
        model=config.model,
        width=config.width,
        num_classes=spec.num_classes,
        batch_size=last.batch_size if last else config.batch_size,
        image_size=(last.crop_size if last and last.crop_size else spec.image_size),
        batches=config.limit_batches,
        warmup=config.warmup_batches,
        seed=config.seed,
        dataset=config.dataset,
        amp=config.amp,
    )


def device_tags(device: torch.device) -> dict[str, str]:
    """What a timing was measured on: the environment tags plus the CPU, its cores, torch's
    threads, the GPU (its name on CUDA) and the clock used."""
    from benchmarks.environment import environment

    info = environment(["CPU", "logical cores", "torch threads", "load average"])
    return tracking.environment_tags(device) | {
        "cpu_model": info["CPU"],
        "logical_cores": info["logical cores"],
        "torch_threads": info["torch threads"],
        "load_average": info["load average"],
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        "timer": "CUDA events" if device.type == "cuda" else "time.perf_counter",
    }


@dataclass
class TimedRun:
    run_id: str
    metrics: dict[str, float]


def frame_metrics(frame: pd.DataFrame, ratios: dict[str, float]) -> dict[str, float]:
    """The table of :func:`run` as flat MLflow metrics: ``<prefix>.<phase>_ms`` per row
    (:func:`metric_prefix`), ``<prefix>.total_p90_ms`` and ``.total_std_ms``, and
    ``ratio.<a>_over_<b>``."""
    metrics = {}
    for row in frame.to_dict("records"):
        method = row["method"].split(" (")[0]
        prefix = metric_prefix(method, row["backend"] or "")
        for phase in (*PHASES, "total"):
            metrics[f"{prefix}.{phase}_ms"] = row[f"{phase} (ms)"]
        metrics[f"{prefix}.total_p90_ms"] = row["total p90 (ms)"]
        metrics[f"{prefix}.total_std_ms"] = row["total std (ms)"]
    metrics.update({f"ratio.{key.replace('/', '_over_')}": value for key, value in ratios.items()})
    return {key: float(value) for key, value in metrics.items() if pd.notna(value)}


def setup_params(setup: TimingSetup) -> dict[str, str]:
    """The setup as MLflow params, ``timing.<field>``."""
    return {f"timing.{key}": str(value) for key, value in dataclasses.asdict(setup).items()}


def _log_timing(
    setup: TimingSetup,
    device: torch.device,
    methods: Sequence[str],
    backends: Sequence[str],
    progress: bool,
) -> dict[str, float]:
    """Time ``methods`` in the active run and log every figure as a metric and the table as
    ``timing.csv``; returns the metrics."""
    import tempfile

    mlflow.log_params(
        setup_params(setup)
        | {"timing.methods": " ".join(methods), "timing.backends": " ".join(backends)}
    )
    frame, ratios = run(setup, device, tuple(methods), backends=tuple(backends), progress=progress)
    metrics = frame_metrics(frame, ratios)
    mlflow.log_metrics(metrics)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timing.csv"
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
    return metrics


def this_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def measure_and_log(
    changes: Mapping[str, object] | None = None,
    methods: Sequence[str] = METHOD_NAMES,
    *,
    backends: Sequence[str] = BACKENDS,
    progress: bool = True,
) -> str:
    """``comixup-bench timing``: time ``methods`` (Puzzle Mix and Co-Mixup once per labeling
    backend of ``backends``, the first being the one the ratios use) on this device with
    :func:`default_setup` changed by ``changes`` (fields of :class:`TimingSetup`), logged as
    one MLflow run of experiment ``timing``; returns its id. The store is checked before any
    timing."""
    device = this_device()
    setup = dataclasses.replace(default_setup(device), **dict(changes or {}))
    with tracking.start_run(
        EXPERIMENT, run_name=f"timing-{device.type}", tags=device_tags(device)
    ) as active:
        _log_timing(setup, device, methods, backends, progress)
    return active.info.run_id


def time_run(
    config: TrainConfig,
    *,
    resume: bool = True,
    checkpoint_root: Path | None = None,
    progress: bool = False,
    tags: Mapping[str, str] | None = None,
) -> TimedRun:
    """One run of ``comixup-bench sweep timing``: every method timed side by side on this
    process's device (CUDA when present) as ``config`` says (:func:`setup_from_config`), logged
    as one MLflow run of experiment ``timing`` with ``tags`` (the sweep's place of the run)
    beside the device's. The runner's call shape; a timing run has no checkpoint, so ``resume``
    and ``checkpoint_root`` are unused (a rerun times afresh)."""
    del resume, checkpoint_root
    device = this_device()
    setup = setup_from_config(config)
    run_tags = device_tags(device) | dict(tags or {})
    name = f"timing-{config.dataset}-{config.model}"
    with tracking.start_run(EXPERIMENT, run_name=name, tags=run_tags) as active:
        mlflow.log_params(config.to_params())
        metrics = _log_timing(setup, device, METHOD_NAMES, BACKENDS, progress)
    return TimedRun(active.info.run_id, metrics)
