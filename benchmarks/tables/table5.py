"""Table 5: top-1 test error on Google Speech Commands, {LeNet, VGG-11} x six methods.

The Co-Mixup supplement's speech experiment (protocol in ``benchmarks.configs.speech``): each
of the 12 runs trains up to 30 epochs, stops when the validation accuracy has not improved for 5
epochs, and reports the test error at its best validation epoch, the metric
``test_top1_error_at_best_val`` that the runner logs. The table is built with pandas from the
MLflow runs, found with ``MlflowClient.search_runs`` by their ``dataset``, ``model`` and
``method`` tags (the latest FINISHED run per seed), or, right after training them, by run id.
A cell is the mean over seeds, with the standard deviation in parentheses when there are
several; the best (lowest) mean of each row is in bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

MODELS = {"lenet": "LeNet", "vgg11": "VGG-11"}
METHODS = {
    "vanilla": "Vanilla",
    "input_mixup": "Input",
    "manifold_mixup": "Manifold",
    "cutmix": "CutMix",
    "puzzle_mix": "Puzzle Mix",
    "comixup": "Co-Mixup",
}
"""The supplement's columns, in its order."""
METRIC = "test_top1_error_at_best_val"


def grid(
    models: Sequence[str] = tuple(MODELS),
    methods: Sequence[str] = tuple(METHODS),
    seeds: Sequence[int] = (0,),
) -> dict[str, dict[str, Any]]:
    """Every (model, method, seed) run of the table, as the config fields each one changes,
    labelled ``model / method / seed N`` (for :func:`benchmarks.suite.train_all`)."""
    return {
        f"{model} / {method} / seed {seed}": {"model": model, "method": method, "seed": seed}
        for model in models
        for method in methods
        for seed in seeds
    }


def _row(run) -> dict:
    tags, metrics = run.data.tags, run.data.metrics
    return {
        "model": tags.get("model"),
        "method": tags.get("method"),
        "seed": int(tags.get("seed", 0)),
        "test_error": metrics.get(METRIC, float("nan")),
        "epochs": int(run.data.params.get("epochs", "0")),
        "run_id": run.info.run_id,
    }


def runs_by_id(client: MlflowClient, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per run: model, method, seed, test error (``METRIC``), epochs, run id."""
    return pd.DataFrame([_row(client.get_run(run_id)) for run_id in run_ids])


def runs_by_tags(
    client: MlflowClient,
    dataset: str,
    *,
    models: Sequence[str] = tuple(MODELS),
    methods: Sequence[str] = tuple(METHODS),
    seeds: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The latest FINISHED run of each (model, method, seed) tagged with ``dataset``, from the
    experiment of that name (the runner logs each dataset to its own experiment).

    Raises:
        ValueError: the store has no experiment or no finished run for ``dataset``.
    """
    experiment = client.get_experiment_by_name(dataset)
    if experiment is None:
        raise ValueError(
            f"the MLflow store has no experiment {dataset!r}: train the runs first "
            f"(`comixup-bench table5 --dataset {dataset}` without --from-mlflow)."
        )
    rows = []
    for model in models:
        for method in methods:
            query = (
                f"tags.dataset = '{dataset}' and tags.model = '{model}' and "
                f"tags.method = '{method}' and attributes.status = 'FINISHED'"
            )
            runs = client.search_runs(
                [experiment.experiment_id],
                filter_string=query,
                order_by=["attributes.start_time DESC"],
                max_results=1000,
            )
            latest: dict[int, dict] = {}
            for run in runs:
                row = _row(run)
                if seeds is None or row["seed"] in seeds:
                    latest.setdefault(row["seed"], row)
            rows += sorted(latest.values(), key=lambda row: row["seed"])
    if not rows:
        raise ValueError(
            f"no finished runs of {', '.join(models)} x {', '.join(methods)} on {dataset!r} in "
            "the MLflow store; train them first (without --from-mlflow)."
        )
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (over seeds; NaN for one seed) and seed count per
    (model, method), in the table's order."""
    grouped = runs.groupby(["model", "method"], sort=False)["test_error"]
    summary = grouped.agg(mean="mean", std="std", seeds="count").reset_index()
    summary["model"] = pd.Categorical(summary["model"], [m for m in MODELS if m in set(runs.model)])
    summary["method"] = pd.Categorical(
        summary["method"], [m for m in METHODS if m in set(runs.method)]
    )
    return summary.sort_values(["model", "method"]).reset_index(drop=True)


def numbers(summary: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The CSV: one row per (model, method) with mean, std, seed count and the run ids."""
    run_ids = runs.groupby(["model", "method"])["run_id"].agg(" ".join).rename("run_ids")
    flat = summary.astype({"model": str, "method": str})
    return flat.join(run_ids, on=["model", "method"])


def format_table(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Rows = models, columns = methods: ``mean`` or ``mean (std)``, the row's best in bold."""
    rows = []
    for model, group in summary.groupby("model", sort=False, observed=True):
        best = group["mean"].min()
        row = {"model": MODELS.get(str(model), str(model))}
        for item in group.itertuples():
            text = f"{item.mean:.{digits}f}"
            if item.seeds > 1:
                text += f" ({item.std:.{digits}f})"
            if item.mean == best:
                text = f"**{text}**"
            row[METHODS.get(str(item.method), str(item.method))] = text
        rows.append(row)
    return pd.DataFrame(rows).fillna("-")


def notes(runs: pd.DataFrame, dataset: str) -> str:
    seeds = sorted(set(runs["seed"]))
    epochs = sorted(set(runs["epochs"]))
    return (
        f"Top-1 test error (%) on {dataset} at each run's best validation epoch "
        f"(`{METRIC}`; training stops after 5 epochs without a better validation accuracy), "
        f"{'mean (std) over' if len(seeds) > 1 else 'seed'} {', '.join(map(str, seeds))}; "
        f"at most {', '.join(map(str, epochs))} epochs. Best of each row in bold. "
        f"{len(runs)} MLflow runs (experiment `{dataset}`; "
        "`mlflow ui --backend-store-uri sqlite:///mlflow.db`)."
    )
