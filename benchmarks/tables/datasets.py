"""Which built-in set the README's main job should train on: every method over seeds on the
built-in digits and on the boxed digits, from the ``datasets`` sweep.

A set is worth a user's five to fifteen minutes when its table separates the methods: when the
differences between methods are larger than the differences between seeds of one method. Per
set and statistic this module gives each method's mean (std) over seeds, the spread of the
method means (max - min), the seeds' own noise (the pooled within-method std) and a one-way
ANOVA across methods (``scipy.stats.f_oneway``: F and its P value). The set with the larger F
on the final model's error separates the methods better, and the table says which. A figure
puts every seed's error beside its method's mean, one panel per set.

The statistic that decides is the last epoch's error: at 10 epochs the paper's median of the
last 10 epochs is the median of the whole run, which measures how fast a method starts more
than where it ends. Both are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.sweep.experiments import get_experiment
from benchmarks.tables.claims import Claim
from benchmarks.tables.grid_cells import grid_runs, mean_std
from benchmarks.tables.selection import Selection

STATISTICS = {"last": "last epoch", "median10": "median of the last 10 epochs"}
"""Tidy column -> what it is; the first decides."""

DECIDING = "last"

TITLE = "Beyond the paper: which built-in set the main job trains on"


def separation(tidy: pd.DataFrame, statistic: str) -> dict[str, float]:
    """How well one set's runs (``tidy``: method, seed, ``statistic``) separate the methods:
    the spread of method means, the pooled within-method std over seeds, their ratio, and the
    one-way ANOVA across methods (NaN where fewer than two methods have two seeds)."""
    from scipy import stats

    groups = [g[statistic].astype(float).to_numpy() for _, g in tidy.groupby("method", sort=False)]
    means = np.array([g.mean() for g in groups])
    repeated = [g for g in groups if len(g) > 1]
    pooled = (
        float(np.sqrt(np.mean([g.var(ddof=1) for g in repeated]))) if repeated else float("nan")
    )
    spread = float(means.max() - means.min()) if len(means) else float("nan")
    f_value = p_value = float("nan")
    if len(repeated) >= 2 and any(g.var() > 0 for g in repeated):
        result = stats.f_oneway(*repeated)
        f_value, p_value = float(result.statistic), float(result.pvalue)
    return {
        "spread of method means": spread,
        "seed std (pooled)": pooled,
        "spread / seed std": spread / pooled if pooled > 0 else float("nan"),
        "ANOVA F": f_value,
        "ANOVA P": p_value,
    }


def method_table(tidy: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """One row per (set, method): mean (std) over seeds of each statistic, the seeds, runs."""
    rows = []
    for setting, runs in tidy.groupby("setting", sort=False):
        for method in methods:
            found = runs[runs["method"] == method].sort_values("seed")
            if found.empty:
                continue
            row = {"set": setting.split("/")[0], "method": method}
            for column, label in STATISTICS.items():
                values = found[column].astype(float)
                std = values.std(ddof=1) if len(values) > 1 else float("nan")
                row[f"{label} (%)"] = mean_std(values.mean(), std)
            row["seeds"] = len(found)
            row["MLflow runs"] = " ".join(run[:8] for run in found["run_id"])
            rows.append(row)
    return pd.DataFrame(rows)


def separation_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per (set, statistic): :func:`separation`."""
    rows = [
        {"set": setting.split("/")[0], "statistic": label, **separation(runs, column)}
        for setting, runs in tidy.groupby("setting", sort=False)
        for column, label in STATISTICS.items()
    ]
    return pd.DataFrame(rows)


def verdict(separations: pd.DataFrame) -> str:
    """The sentence that names the set whose methods differ most beyond the seeds' noise."""
    deciding = separations[separations["statistic"] == STATISTICS[DECIDING]]
    deciding = deciding.dropna(subset=["ANOVA F"])
    if len(deciding) < 2:
        return "Not decided: each set needs at least two seeds of two methods."
    best = deciding.sort_values("ANOVA F", ascending=False).iloc[0]
    others = ", ".join(
        f"{row['set']} F {row['ANOVA F']:.2f} (P {row['ANOVA P']:.3g})"
        for _, row in deciding.iterrows()
        if row["set"] != best["set"]
    )
    significant = "" if best["ANOVA P"] < 0.05 else " (though not at P < 0.05)"
    text = (
        f"On the {STATISTICS[DECIDING]}'s error, **{best['set']}** separates the methods best"
        f"{significant}: ANOVA F {best['ANOVA F']:.2f} (P {best['ANOVA P']:.3g}), the method "
        f"means spread over {best['spread of method means']:.2f} points against a seed std of "
        f"{best['seed std (pooled)']:.2f}; {others}."
    )
    for column, label in STATISTICS.items():  # the other statistics, so none is hidden
        if column == DECIDING:
            continue
        rows = separations[separations["statistic"] == label].dropna(subset=["ANOVA F"])
        if len(rows):
            text += (
                f" On the {label}: "
                + ", ".join(
                    f"{row['set']} F {row['ANOVA F']:.2f} (P {row['ANOVA P']:.3g})"
                    for _, row in rows.iterrows()
                )
                + "."
            )
    return text


def draw(tidy: pd.DataFrame, methods: Sequence[str], path: Path) -> Path:
    """One panel per set: each seed's last-epoch error (dots) and its method's mean (bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(tidy["setting"]))
    figure, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.6), squeeze=False)
    for axis, setting in zip(axes[0], settings, strict=True):
        runs = tidy[tidy["setting"] == setting]
        shown = [m for m in methods if m in set(runs["method"])]
        for x, method in enumerate(shown):
            values = runs[runs["method"] == method][DECIDING].astype(float)
            axis.bar(x, values.mean(), color="0.85", width=0.7)
            axis.scatter([x] * len(values), values, color="C0", s=14, zorder=3)
        axis.set_xticks(range(len(shown)), shown, rotation=45, ha="right")
        axis.set_title(setting.split("/")[0])
        axis.set_ylabel(f"test top-1 error, {STATISTICS[DECIDING]} (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_report(selection: Selection, out: Path) -> Path:
    """reports/datasets.{md,csv} and datasets.png from the ``datasets`` sweep's runs."""
    from benchmarks.tables.report import write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    experiment = get_experiment("datasets")
    grid = grid_runs("datasets", scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    if grid.tidy.empty:
        raise ValueError(
            f"no finished run of the datasets experiment at {scale} scale; train them first: "
            f"comixup-bench sweep datasets --scale {scale}."
        )
    methods = experiment.methods
    separations = separation_table(grid.tidy)
    out.mkdir(parents=True, exist_ok=True)
    figure = draw(grid.tidy, methods, out / "datasets.png")
    settings = ", ".join(s.name for s in experiment.settings_at(scale))
    notes = [
        "## How much each set separates the methods\n\n"
        + separations.to_markdown(index=False, floatfmt=".3g"),
        verdict(separations),
        f"Top-1 test error (%), mean (std) over seeds, on {settings} at {scale} scale "
        f"(`comixup-bench sweep datasets --scale {scale}`: the presets of "
        "benchmarks/configs/builtin.py, which `comixup-bench compare` trains). One test image "
        "is 0.28 points. Spread: the largest method mean less the smallest; seed std: the "
        "within-method standard deviation over seeds, pooled; ANOVA: one-way across methods "
        "(scipy.stats.f_oneway), whose F is large when methods differ by more than seeds do.",
        f"![every seed's error]({figure.name})",
        missing_note(grid.states),
    ]
    md, csv = write_table(
        method_table(grid.tidy, methods),
        "datasets",
        out,
        title="Which built-in set separates the methods, "
        + ("the main job's presets" if scale == "paper" else f"{scale} scale"),
        notes="\n\n".join(n for n in notes if n),
    )
    grid.tidy.to_csv(csv, index=False)
    separations.to_csv(out / "datasets-separation.csv", index=False)
    return md


def claims(scale: str, seeds: int | None) -> list[Claim]:
    """None: the paper says nothing about the built-in sets; the table only chooses the
    README's main job's set (its verdict is in reports/datasets.md)."""
    del scale, seeds
    return []
