"""Whether a sweep's runs trained long enough, read from their logged test-error curves: the
slope of the last 10 epochs (points per epoch, least squares) and the final error against
chance, as a table's note and a figure of every curve.

The rule (the reduced scale's): a method has stopped improving when none of its runs' last 10
epochs falls faster than :data:`MAX_FALL` points per epoch, and it is well above chance when
every run's median of the last 10 epochs is at most half of chance's error. A run that early
stopping ended (the speech protocol: no better validation accuracy for ``patience`` epochs, the
``early_stopped_epoch`` tag) has stopped by its protocol's own test; its last 10 epochs may
still hold the first descent, so the slope rule judges only the runs that reached their epoch
limit, and the note counts the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

WINDOW = 10
MAX_FALL = 0.5
"""Points per epoch: a run whose last :data:`WINDOW` epochs fall faster is still improving."""


def curves(run_ids: Sequence[str], client=None) -> dict[str, list[float]]:
    """Run id -> its test top-1 error per epoch (``test_top1_error``, by step)."""
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient()
    found = {}
    for run_id in run_ids:
        history = sorted(client.get_metric_history(run_id, "test_top1_error"), key=lambda m: m.step)
        found[run_id] = [m.value for m in history]
    return found


def early_stopped(run_ids: Sequence[str], client=None) -> set[str]:
    """The runs among ``run_ids`` that early stopping ended (at their epoch limit or before)."""
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient()
    return {r for r in run_ids if "early_stopped_epoch" in client.get_run(r).data.tags}


def fall_per_epoch(errors: Sequence[float], window: int = WINDOW) -> float:
    """How fast the last ``window`` epochs' error falls (points per epoch; negative: rises)."""
    tail = np.asarray(errors[-window:], dtype=float)
    if len(tail) < 2:
        return float("nan")
    return float(-np.polyfit(np.arange(len(tail)), tail, 1)[0])


def convergence_frame(
    tidy: pd.DataFrame,
    curves_of: dict[str, list[float]],
    stopped_early: set[str] = frozenset(),
) -> pd.DataFrame:
    """Per (setting, method): the fastest fall of the last epochs of its runs that reached their
    epoch limit (NaN when early stopping ended them all), its worst median, how many runs it has
    and how many of them early stopping ended."""
    rows = [
        {
            **row,
            "fall": np.nan if early else fall_per_epoch(curves_of.get(row["run_id"], [])),
            "early": early,
        }
        for row in tidy[["setting", "method", "run_id", "median10"]].to_dict("records")
        for early in [row["run_id"] in stopped_early]
    ]
    columns = ["setting", "method", "run_id", "median10", "fall", "early"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.groupby(["setting", "method"], sort=False).agg(
        fall=("fall", "max"), worst=("median10", "max"), runs=("run_id", "count"),
        early=("early", "sum"),
    )  # fmt: skip


def convergence_note(summary: pd.DataFrame, chance: float) -> str:
    """The note: the rule, then each method that breaks it, by name."""
    if summary.empty:
        return ""
    several = summary.index.get_level_values("setting").nunique() > 1

    def name(setting: str, method: str) -> str:
        return f"{method} on {setting.split('/')[-1]}" if several else method

    still = [f"{name(*k)} ({f:.2f}/epoch)" for k, f in summary["fall"].items() if f >= MAX_FALL]
    near = [f"{name(*k)} ({w:.1f}%)" for k, w in summary["worst"].items() if w > chance / 2]
    early = int(summary["early"].sum()) if "early" in summary else 0
    total = int(summary["runs"].sum())
    stop = ""
    if early:
        stop = (
            f"Early stopping ended {early} of the {total} runs (no better validation accuracy "
            f"for its patience: stopped by the protocol's own test); the slope rule judges the "
            f"{total - early} that reached their epoch limit. "
        )
    if early == total:
        slope = "No run reached its epoch limit. "
    else:
        slope = (
            f"Over the last {WINDOW} epochs of each run{' judged' if early else ''}, the test "
            "error falls by at most "
            f"{summary['fall'].max():.2f} points per epoch (least-squares slope; the rule: under "
            f"{MAX_FALL}); "
            + (f"still improving: {', '.join(still)}. " if still else "every method has stopped. ")
        )
    return (
        "Trained long enough? "
        + stop
        + slope
        + f"Half of chance is {chance / 2:.0f}% error; "
        + (
            f"a run above it: {', '.join(near)} (its curve is in the figure)."
            if near
            else "every run ends below it."
        )
    )


def plot_curves(tidy: pd.DataFrame, curves_of: dict[str, list[float]], path: Path) -> Path:
    """One panel per setting: each run's test error per epoch, one colour per method."""
    from matplotlib.figure import Figure

    settings = list(dict.fromkeys(tidy["setting"]))
    figure = Figure(figsize=(6.5 * len(settings), 4.2))
    axes = figure.subplots(1, len(settings), squeeze=False)[0]
    for axis, setting in zip(axes, settings, strict=True):
        rows = tidy[tidy["setting"] == setting]
        for index, method in enumerate(dict.fromkeys(rows["method"])):
            for number, run_id in enumerate(rows[rows["method"] == method]["run_id"]):
                errors = curves_of.get(run_id, [])
                label = method if number == 0 else None
                axis.plot(range(1, len(errors) + 1), errors, color=f"C{index}", label=label)
        axis.set(title=setting, xlabel="epoch", ylabel="test top-1 error (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def trained_note(tidy: pd.DataFrame, out: Path, figure: str) -> str:
    """The note on whether ``tidy``'s runs (a table's finished runs: ``setting``, ``method``,
    ``run_id``, ``median10``) trained long enough, with every curve drawn to ``out/figure``.
    A grid's table names its cells in ``method`` so that the note can name one."""
    from benchmarks.data import dataset_spec

    if tidy.empty:
        return ""
    run_ids = list(tidy["run_id"])
    curves_of = curves(run_ids)
    summary = convergence_frame(tidy, curves_of, early_stopped(run_ids))
    classes = {dataset_spec(s.split("/")[0]).num_classes for s in tidy["setting"]}
    chance = 100 * (1 - 1 / max(classes))
    plot_curves(tidy, curves_of, out / figure)
    return convergence_note(summary, chance) + f"\n\n![every run's curve]({figure})"
