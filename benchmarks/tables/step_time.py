"""Per-batch training time of every method on this device, split by phase (supplement's
timing comparison).

Each method trains the same model on the same fixed batch (so data loading is excluded) with
the runner's own ``training_step`` and ``BatchTimer``: CUDA events on a GPU, perf_counter on
the CPU, warm-up batches left out. The supplement reports Co-Mixup at 2.58x vanilla's time per
batch on ImageNet and 1.04x Puzzle Mix's; the ratios here are measured side by side in one
process, on the device named in the report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchmarks.configs import TrainConfig
from benchmarks.environment import describe_device
from benchmarks.methods import METHOD_NAMES, get_method
from benchmarks.models import get_model
from benchmarks.runner.batch_timer import PHASES, BatchTimer
from benchmarks.runner.engine import training_step
from benchmarks.runner.optim import build_optimizer
from benchmarks.tables.paper import published

EXPERIMENT = "timing"
"""The MLflow experiment of the timing runs."""

_PAPER = published("timing")
PAPER_RATIOS = {
    ("comixup", "vanilla"): _PAPER["ratio_comixup_vanilla"],
    ("comixup", "puzzle_mix"): _PAPER["ratio_comixup_puzzle_mix"],
}
"""Co-Mixup supplement, ImageNet ResNet-50 timing (paper_values.toml)."""


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
    ratios = {
        f"{a}/{b}": totals[a] / totals[b] for a, b in PAPER_RATIOS if a in totals and b in totals
    }
    return frame, ratios


def notes(setup: TimingSetup, device: torch.device, ratios: dict[str, float]) -> str:
    lines = [
        f"Device: {describe_device(device)}. Model {setup.model} (width "
        f"{setup.width or 'paper'}), batch {setup.batch_size} of 3x{setup.image_size}x"
        f"{setup.image_size}, {setup.num_classes} classes; median over {setup.batches} timed "
        f"batches after {setup.warmup} warm-up batches; a fixed batch, so data time is ~0. "
        "The mixing phase of Puzzle Mix and Co-Mixup is their graph-cut solver (plus mixing); "
        "its share of the step is in `mixing share`, per labeling backend.",
        "",
    ]
    for (a, b), paper in PAPER_RATIOS.items():
        key = f"{a}/{b}"
        if key in ratios:
            lines.append(
                f"- {a} / {b}: {ratios[key]:.2f}x here (supplement, ImageNet: {paper:.2f}x)"
            )
    return "\n".join(lines)


def log_run(
    setup: TimingSetup, device: torch.device, ratios: dict[str, float], files: list[Path]
) -> str:
    """One MLflow run in the current experiment: the setup as params, the environment as tags,
    the headline ratios as metrics and the written ``files`` as artifacts; returns its id."""
    import mlflow

    from benchmarks.runner.tracking import environment_tags

    with mlflow.start_run(run_name=f"timing-{device.type}") as run:
        mlflow.log_params({key: str(value) for key, value in dataclasses.asdict(setup).items()})
        mlflow.set_tags(environment_tags(device))
        mlflow.log_metrics({key.replace("/", "_over_"): value for key, value in ratios.items()})
        for path in files:
            mlflow.log_artifact(str(path))
    return run.info.run_id


# ------------------------------------------------------------------- a sweep's timing run ----


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
    from benchmarks.runner.tracking import environment_tags

    info = environment(["CPU", "logical cores", "torch threads", "load average"])
    return environment_tags(device) | {
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


def time_run(
    config: TrainConfig, *, resume: bool = True, checkpoint_root: Path | None = None,
    progress: bool = False, tags: dict[str, str] | None = None,
) -> TimedRun:  # fmt: skip
    """One run of ``comixup-bench sweep timing``: every method timed side by side on this
    process's device (CUDA when present) as ``config`` says (:func:`setup_from_config`), logged
    as one MLflow run of experiment ``timing``. The runner's call shape; a timing run has no
    checkpoint, so ``resume`` and ``checkpoint_root`` are unused (a rerun times afresh); ``tags``
    (the sweep's) are set at the run's creation."""
    import tempfile

    import mlflow

    del resume, checkpoint_root
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    setup = setup_from_config(config)
    mlflow.set_experiment(EXPERIMENT)
    name = f"timing-{config.dataset}-{config.model}"
    with mlflow.start_run(run_name=name, tags=tags) as active:
        mlflow.log_params(config.to_params())
        mlflow.log_params({f"timing.{k}": str(v) for k, v in dataclasses.asdict(setup).items()})
        mlflow.set_tags(device_tags(device))
        frame, ratios = run(setup, device, progress=progress)
        metrics = frame_metrics(frame, ratios)
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "timing.csv"
            frame.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
    return TimedRun(active.info.run_id, metrics)
