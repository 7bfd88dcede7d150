"""Train every registered method on one configuration and tabulate the runs.

The main job: the same dataset, model, schedule and seed for each method (only the method
changes), each run logged to MLflow with its own checkpoint (an interrupted comparison
resumes where it stopped), then one table of test top-1 error (the median of the last 10
epochs, as the paper reports, with the last and best epochs beside it), expected calibration
error and median seconds per batch, written to ``reports/`` from the runs' own metrics. With
``jobs`` > 1 the methods train in the local pool of ``sweep.launch`` (:func:`run_pool`), that
many at a time, as a local sweep's runs do.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from benchmarks.configs import TrainConfig
from benchmarks.errors import user_input
from benchmarks.methods import METHOD_NAMES, get_method
from benchmarks.runner import tracking
from benchmarks.runner.evaluate import MEDIAN_WINDOW
from benchmarks.runner.train import RunResult, train
from benchmarks.sweep.launch import run_pool, threads_per_job


def compare(
    base: TrainConfig,
    methods: Sequence[str] = METHOD_NAMES,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = True,
    resume: bool = True,
    jobs: int = 1,
) -> tuple[pd.DataFrame, dict[str, RunResult]]:
    """Train ``base`` once per method, each with its own ``settings`` (by method name);
    returns the comparison table and the run results. Every method is built once before any
    trains, so a bad setting stops the comparison before its first run."""
    settings = settings or {}
    check_methods(base, methods, settings)
    variants = {
        name: {"method": name, "method_settings": dict(settings.get(name, {}))} for name in methods
    }
    results = train_all(base, variants, progress=progress, resume=resume, jobs=jobs)
    return comparison_table(results), results


def train_all(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    progress: bool = True,
    resume: bool = True,
    jobs: int = 1,
) -> dict[str, RunResult]:
    """Train ``base`` with each variant's field changes; results by variant label, in the
    order of ``variants``.

    ``variants`` maps a label (printed as ``== label ==`` before its run when ``progress``) to
    the :class:`TrainConfig` fields it changes, e.g. ``{"cutmix": {"method": "cutmix"}}``.
    ``jobs`` > 1 trains that many at a time in the local pool (no per-run progress bar, a
    line as each ends); a run that fails lets the others finish, then its error is raised,
    naming its label.
    """
    configs = {label: dataclasses.replace(base, **changes) for label, changes in variants.items()}
    if jobs <= 1 or len(configs) <= 1:
        results = {}
        for label, config in configs.items():
            if progress:
                print(f"== {label} ==", flush=True)
            results[label] = train(config, progress=progress, resume=resume)
        return results
    return _train_side_by_side(configs, jobs=jobs, progress=progress, resume=resume)


def _train_side_by_side(
    configs: dict[str, TrainConfig], *, jobs: int, progress: bool, resume: bool
) -> dict[str, RunResult]:
    from tqdm import tqdm

    # Made here, once: processes that each create a new SQLite store race on its migrations.
    for dataset in dict.fromkeys(config.dataset for config in configs.values()):
        tracking.setup_tracking(dataset)
    labels = list(configs)
    jobs = min(jobs, len(configs))
    threads = threads_per_job(jobs)
    tasks = [
        functools.partial(train, config, resume=resume, progress=False)
        for config in configs.values()
    ]
    results: dict[str, RunResult] = {}
    failures: dict[str, BaseException] = {}
    if progress:
        print(f"== {', '.join(labels)}: {jobs} at a time, {threads} thread(s) each ==")
    bar = tqdm(total=len(tasks), desc="runs", unit="run", disable=not progress)

    def ended(index: int, result: RunResult | None, error: BaseException | None) -> None:
        label = labels[index]
        if error is None:
            results[label] = result
        else:
            failures[label] = error
        bar.update()
        bar.write(f"{'done' if error is None else 'FAILED'} {label}" + _summary(result, error))

    try:
        run_pool(tasks, jobs=jobs, threads=threads, ended=ended)
    finally:
        bar.close()
    if failures:
        label, error = next(iter(failures.items()))
        error.add_note(f"while training {label} (compare ran every other method to its end)")
        raise error
    return {label: results[label] for label in labels}


def _summary(result: RunResult | None, error: BaseException | None) -> str:
    if error is not None:
        return f": {type(error).__name__}: {error}"
    error_last = result.metrics.get("test_top1_error_last", float("nan"))
    return f": run {result.run_id[:8]}, last-epoch test error {error_last:.2f}%"


def check_methods(
    base: TrainConfig, methods: Sequence[str], settings: Mapping[str, Mapping[str, Any]]
) -> None:
    """Build each method as its run will (its settings, the dataset's defaults); a ValueError
    names the first that cannot be built, or a setting for a method that is not run."""
    from benchmarks.data import dataset_spec

    with user_input():  # the settings are the user's; a refused one is theirs to fix
        extra = sorted(set(settings) - set(methods))
        if extra:
            raise ValueError(
                f"settings given for {', '.join(extra)}, which this comparison does not run "
                f"({', '.join(methods)})."
            )
        spec = dataset_spec(base.dataset)
        for name in methods:
            get_method(
                name, num_classes=spec.num_classes, dataset=base.dataset, **settings.get(name, {})
            )


def comparison_table(results: dict[str, RunResult]) -> pd.DataFrame:
    """One row per method: the paper's statistic (median of the last 10 epochs' test top-1
    error) first, the last and best epochs beside it, then calibration and speed."""
    rows = []
    for name, result in results.items():
        metrics = result.metrics
        rows.append(
            {
                "method": name,
                "top-1 error, median last 10 (%)": metrics.get("test_top1_error_median_last10"),
                "last (%)": metrics.get("test_top1_error_last"),
                "best (%)": metrics.get("test_top1_error_best"),
                "epochs in median": int(metrics.get("epochs_in_median", 0)),
                "test ECE": metrics.get("test_ece"),
                "s / batch (median)": metrics.get("time_total_median_ms", float("nan")) / 1000,
                "MLflow run": result.run_id[:8],
            }
        )
    return pd.DataFrame(rows)


def median_note(table: pd.DataFrame) -> str:
    """Says so when a median covers fewer than 10 epochs (a short run), never silently."""
    short = table[table["epochs in median"] < MEDIAN_WINDOW]
    if short.empty:
        return ""
    counts = sorted(set(short["epochs in median"]))
    return (
        f" The median covers fewer than {MEDIAN_WINDOW} epochs here ("
        + ", ".join(str(n) for n in counts)
        + f" epochs, for {', '.join(short['method'])}): these runs are shorter than the "
        "paper's statistic needs."
    )


def _under_trained(config: TrainConfig) -> str:
    """On the boxed digits, a run shorter than the reduced scale's says its table is a
    pipeline check: measured there, the mixers need more epochs than vanilla to stop."""
    from benchmarks.sweep.experiments import REDUCED

    if config.dataset != "boxed-digits" or config.epochs >= REDUCED["epochs"]:
        return ""
    return (
        f" Read it as a pipeline check, not a ranking: {config.epochs} epochs under-train the "
        f"mixers, which on this set need the reduced scale's {REDUCED['epochs']} epochs to stop "
        "improving (`comixup-bench sweep main --scale reduced`, reports/main.md)."
    )


def notes(config: TrainConfig, results: dict[str, RunResult] | None = None, jobs: int = 1) -> str:
    """What every method of the comparison shared, where the runs are, how many trained side
    by side, and which times include warm-up batches (runs too short to have any batch past
    the warm-up)."""
    limit = f", {config.limit_batches} batches/epoch" if config.limit_batches else ""
    text = (
        f"Each method trained {config.model} (width {config.width or 'paper'}) on "
        f"{config.dataset} for {config.epochs} epochs (batch {config.batch_size}, lr "
        f"{config.lr}, seed {config.seed}{limit}); the runs are in the MLflow store "
        "(`mlflow ui --backend-store-uri sqlite:///mlflow.db`)."
    )
    text += _under_trained(config)
    if jobs > 1 and results and len(results) > 1:
        threads = threads_per_job(min(jobs, len(results)))
        text += (
            f" The methods trained {min(jobs, len(results))} at a time, {threads} thread(s) "
            "each: seconds per batch are each run's own under that sharing (`--jobs 1` times "
            "them one after the other)."
        )
    warm = {
        name: int(result.metrics.get("timed_batches", 0))
        for name, result in (results or {}).items()
        if result.metrics.get("timing_includes_warmup")
    }
    if warm:
        counts = ", ".join(f"{name} {count}" for name, count in warm.items())
        text += (
            f" Seconds per batch include the warm-up (no batch past the first "
            f"{config.warmup_batches}; batches timed: {counts}): train more batches for a "
            "steady-state time."
        )
    return text
