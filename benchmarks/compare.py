"""Train every registered method on one configuration and tabulate the runs.

The main job: the same dataset, model, schedule and seed for each method (only the method
changes), each run logged to MLflow, then one table of test top-1 error, expected calibration
error and median seconds per batch, written to ``reports/`` from the runs' own metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmarks.configs import TrainConfig
from benchmarks.methods import METHOD_NAMES
from benchmarks.suite import train_all
from benchmarks.train import RunResult


def compare(
    base: TrainConfig,
    methods: Sequence[str] = METHOD_NAMES,
    *,
    progress: bool = True,
    resume: bool = True,
) -> tuple[pd.DataFrame, dict[str, RunResult]]:
    """Train ``base`` once per method; returns the comparison table and the run results."""
    variants = {name: {"method": name} for name in methods}
    results = train_all(base, variants, progress=progress, resume=resume)
    return comparison_table(results), results


def comparison_table(results: dict[str, RunResult]) -> pd.DataFrame:
    rows = []
    for name, result in results.items():
        metrics = result.metrics
        rows.append(
            {
                "method": name,
                "test top-1 error (%)": metrics.get("test_top1_error"),
                "best top-1 error (%)": metrics.get("best_test_top1_error"),
                "test ECE": metrics.get("test_ece"),
                "s / batch (median)": metrics.get("time_total_median_ms", float("nan")) / 1000,
                "epochs": len(result.history.get("test_top1_error", [])),
                "MLflow run": result.run_id[:8],
            }
        )
    return pd.DataFrame(rows)


def notes(config: TrainConfig) -> str:
    """What every method of the comparison shared, and where the runs are."""
    limit = f", {config.limit_batches} batches/epoch" if config.limit_batches else ""
    return (
        f"Each method trained {config.model} (width {config.width or 'paper'}) on "
        f"{config.dataset} for {config.epochs} epochs (batch {config.batch_size}, lr "
        f"{config.lr}, seed {config.seed}{limit}); the runs are in the MLflow store "
        "(`mlflow ui --backend-store-uri sqlite:///mlflow.db`)."
    )
