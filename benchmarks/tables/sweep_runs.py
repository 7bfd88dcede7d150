"""A sweep's finished runs as one tidy frame (setting, method, seed, run id, errors) and the
runs a table lacks, both read from MLflow through the runs' states."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmarks.sweep.state import DONE, RunState

ERRORS = {
    "median10": "test_top1_error_median_last10",
    "last": "test_top1_error_last",
    "best": "test_top1_error_best",
    "epochs_in_median": "epochs_in_median",
}
"""Tidy column -> the metric a finished run logged."""


def finished(states: Sequence[RunState]) -> pd.DataFrame:
    """One row per done run: setting, method, seed, run_id and the :data:`ERRORS` columns."""
    rows = [
        {
            "setting": s.run.setting,
            "method": s.run.method,
            "seed": s.run.seed,
            "run_id": s.run_id,
            **{column: (s.metrics or {}).get(metric) for column, metric in ERRORS.items()},
        }
        for s in states
        if s.state == DONE
    ]
    columns = ["setting", "method", "seed", "run_id", *ERRORS]
    return pd.DataFrame(rows, columns=columns)


def missing_note(states: Sequence[RunState]) -> str:
    """Names every run a table lacks, with its state; empty when none."""
    lacking = [s for s in states if s.state != DONE]
    if not lacking:
        return ""
    listed = "; ".join(
        f"{s.run.cell} seed {s.run.seed} ({s.state}{', run ' + s.run_id if s.run_id else ''})"
        for s in lacking
    )
    return (
        f"Missing or unfinished ({len(lacking)} of {len(states)} runs; the cells above use "
        f"the finished ones only): {listed}."
    )


def devices(run_ids: Sequence[str]) -> str:
    """The distinct ``device`` tags of ``run_ids`` (what the runner logged them on), joined."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    found = [client.get_run(run_id).data.tags.get("device", "?") for run_id in run_ids]
    return "; ".join(dict.fromkeys(found))
