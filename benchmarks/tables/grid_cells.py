"""A grid experiment's cells with their finished runs, read from MLflow, for the tables whose
rows and columns are variants (Tables 5, 7, 8).

:func:`grid_runs` gives one tidy row per (setting, method, variant, seed) whose run is done, a
run that several variants share repeated under each (Table 7's default point fills a cell of
every row), and the states of the distinct runs, to name the missing ones; :func:`cell_summary`
gives each cell's mean and std over seeds with its run ids, the numbers of every grid table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from benchmarks.sweep.experiments import cells
from benchmarks.sweep.state import DONE, RunState, run_states
from benchmarks.tables.sweep_runs import ERRORS

METRICS = {**ERRORS, "at_best_val": "test_top1_error_at_best_val"}
"""Tidy column -> the metric a finished run logged (``at_best_val``: runs with a validation
split, Table 5)."""

KEYS = ["setting", "method", "row", "column"]
"""What names a cell."""


@dataclass(frozen=True)
class GridRuns:
    tidy: pd.DataFrame
    """One row per done (cell, seed): :data:`KEYS`, seed, run_id and the :data:`METRICS`."""
    states: list[RunState]
    """Every distinct run of the grid with its state."""


def grid_runs(
    name: str, *, scale: str, seeds: int | None = None, overrides: Sequence[str] = (), client=None
) -> GridRuns:
    """The cells of sweep experiment ``name`` and their runs' states, from the MLflow store
    ``client`` reads (default: the current tracking URI)."""
    pairs = cells(name, scale=scale, seeds=seeds, overrides=overrides)
    states = run_states([run for _, run in pairs], client)
    rows = [
        {
            "setting": run.setting,
            "method": run.method,
            "row": variant.row,
            "column": variant.column,
            "seed": run.seed,
            "run_id": state.run_id,
            **{column: (state.metrics or {}).get(metric) for column, metric in METRICS.items()},
        }
        for (variant, run), state in zip(pairs, states, strict=True)
        if state.state == DONE
    ]
    distinct = list({state.run.key: state for state in states}.values())
    return GridRuns(pd.DataFrame(rows, columns=[*KEYS, "seed", "run_id", *METRICS]), distinct)


def cell_summary(tidy: pd.DataFrame, statistic: str) -> pd.DataFrame:
    """Per cell (:data:`KEYS`): mean and std (ddof 1; NaN with one seed) of ``statistic`` over
    seeds, the seed count, the seeds and the MLflow run ids."""
    columns = [*KEYS, "mean", "std", "seeds", "seed list", "MLflow runs"]
    if tidy.empty:
        return pd.DataFrame(columns=columns)
    ordered = tidy.sort_values("seed", kind="stable")
    grouped = ordered.groupby(KEYS, sort=False)
    summary = grouped[statistic].agg(mean="mean", std="std", seeds="count").reset_index()
    summary["seed list"] = grouped["seed"].agg(lambda s: " ".join(map(str, s))).to_numpy()
    summary["MLflow runs"] = grouped["run_id"].agg(" ".join).to_numpy()
    return summary[columns]


def lookup(summary: pd.DataFrame, **where: str) -> pd.Series | None:
    """The one summary row matching ``where`` (e.g. ``row="beta", column="0.16"``), or None."""
    mask = pd.Series(True, index=summary.index)
    for key, value in where.items():
        mask &= summary[key] == value
    found = summary[mask]
    return found.iloc[0] if len(found) else None


def mean_std(mean: float, std: float, digits: int = 2) -> str:
    """``mean (std)``; a dash for the std of one seed."""
    return f"{mean:.{digits}f} ({'-' if pd.isna(std) else f'{std:.{digits}f}'})"


def main_runs(
    setting: str,
    *,
    scale: str,
    seeds: int | None = None,
    overrides: Sequence[str] = (),
    client=None,
    schedule_of: str | None = None,
) -> tuple[pd.DataFrame, list[RunState]]:
    """The ``main`` experiment's runs of ``setting`` at ``scale``: the finished ones, tidy
    (:func:`benchmarks.tables.sweep_runs.finished`), and every one's state. Tables 7 and 8
    read their baselines and Co-Mixup from there, with the training fields of ``overrides``
    (a method's own settings belong to the grid's method), at the schedule of the experiment
    ``schedule_of`` (default: main's)."""
    from benchmarks.sweep.experiments import expand
    from benchmarks.tables.sweep_runs import finished

    training = [a for a in overrides if "." not in a.partition("=")[0]]
    grid = expand("main", scale=scale, seeds=seeds, overrides=training, schedule_of=schedule_of)
    runs = [run for run in grid if run.setting == setting]
    states = run_states(runs, client)
    return finished(states), states


def cell_claim(
    cell: pd.Series | None,
    *,
    experiment: str,
    table: str,
    claim: str,
    paper: float,
    scale: str,
    device: str,
):
    """A :class:`benchmarks.tables.claims.Claim` for one cell (a :func:`cell_summary` row;
    None: no finished run) of sweep ``experiment``."""
    from benchmarks.tables.claims import Claim

    found = cell is not None
    return Claim(
        table=table,
        claim=claim,
        paper=paper,
        measured=float(cell["mean"]) if found else None,
        unit="top-1 error %",
        scale=scale,
        seeds=int(cell["seeds"]) if found else 0,
        spread=float(cell["std"]) if found and not pd.isna(cell["std"]) else None,
        command=f"comixup-bench sweep {experiment} --scale {scale}",
        run_ids=tuple(cell["MLflow runs"].split()) if found else (),
        device=device,
    )


def devices(run_ids: Sequence[str], client=None) -> str:
    """The ``device`` tags of the runs (the runner sets it), distinct, joined."""
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient()
    found = {client.get_run(run_id).data.tags.get("device", "") for run_id in run_ids}
    return ", ".join(sorted(d for d in found if d))
