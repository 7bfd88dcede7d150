"""Table 7: Co-Mixup's sensitivity to its hyperparameters, one varied at a time around the
defaults (beta, gamma, tau, omega and the partition size m), from the ``sensitivity`` sweep.

Each cell is the mean (std) over seeds of the median of the last 10 epochs' test top-1 error
(the paper's statistic), beside the supplement's value. The default point is one run per seed,
shared by the five rows (``benchmarks.sweep.experiments.one_at_a_time``). As the supplement
does, the table sets the best baseline beside it: the paper's (Puzzle Mix, 20.62) and the
measured best non-Co-Mixup method of the ``main`` sweep in the same setting and scale; a
dagger marks the values below it, bold the best of each row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.sweep.experiments import SENSITIVITY_ROWS, get_experiment
from benchmarks.tables import paper
from benchmarks.tables.claims import Claim
from benchmarks.tables.grid_cells import (
    cell_claim,
    cell_summary,
    devices,
    grid_runs,
    lookup,
    main_runs,
    mean_std,
)
from benchmarks.tables.selection import Selection

STATISTIC = "median10"
BELOW_BASELINE = "†"

TITLE = "Table 7: sensitivity to Co-Mixup's hyperparameters"
REPRODUCE = (
    "comixup-bench sweep sensitivity --scale {scale}\n"
    "comixup-bench table sensitivity --scale {scale}"
)


def _setting(scale: str) -> str:
    experiment = get_experiment("sensitivity")
    settings = experiment.settings_at(scale)
    return settings[0].name


def paper_errors() -> dict[tuple[str, str], float]:
    """(row, value label) -> the supplement's error."""
    values = paper.published("table7")
    return {
        (row, f"{float(value):g}"): error
        for row in SENSITIVITY_ROWS
        for value, error in zip(values[row]["values"], values[row]["errors"], strict=True)
    }


def default_labels() -> dict[str, str]:
    """Row -> the value label of its default point (the variant without assignments)."""
    variants = get_experiment("sensitivity").variants
    return {v.row: v.column for v in variants if not v.overrides}


def best_baseline(main: pd.DataFrame) -> tuple[str, float, float, int] | None:
    """(method, mean, std, seeds) of the main sweep's best non-Co-Mixup method, or None."""
    baselines = main[main["method"] != "comixup"]
    if baselines.empty:
        return None
    stats = baselines.groupby("method")[STATISTIC].agg(["mean", "std", "count"])
    method = stats["mean"].idxmin()
    return method, *stats.loc[method, ["mean", "std"]], int(stats.loc[method, "count"])


def sensitivity_table(
    summary: pd.DataFrame, baseline: float | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Markdown frame, CSV frame): one row per (hyperparameter, value) in Table 7's order."""
    published = paper_errors()
    paper_baseline = paper.published("table7")["best_baseline"]["error"]
    defaults = default_labels()
    shown, numbers = [], []
    for row, (_, values) in SENSITIVITY_ROWS.items():
        labels = [f"{value:g}" for value in values]
        found = {label: lookup(summary, row=row, column=label) for label in labels}
        means = [c["mean"] for c in found.values() if c is not None]
        best_measured = min(means) if means else None
        best_paper = min(published[(row, label)] for label in labels)
        for label in labels:
            cell, ours = found[label], published[(row, label)]
            measured = "-"
            if cell is not None:
                measured = _mark(mean_std(cell["mean"], cell["std"]), cell["mean"], baseline)
                measured = f"**{measured}**" if cell["mean"] == best_measured else measured
            shown_paper = _mark(f"{ours:.2f}", ours, paper_baseline)
            shown.append(
                {
                    "hyperparameter": row,
                    "value": label + (" (default)" if defaults[row] == label else ""),
                    "paper (%)": f"**{shown_paper}**" if ours == best_paper else shown_paper,
                    "measured (%)": measured,
                    "seeds": 0 if cell is None else int(cell["seeds"]),
                }
            )
            numbers.append(
                {
                    "hyperparameter": row,
                    "value": label,
                    "default": defaults[row] == label,
                    "paper": ours,
                    **_numbers(cell),
                }
            )
    return pd.DataFrame(shown), pd.DataFrame(numbers)


def _mark(text: str, value: float, baseline: float | None) -> str:
    return f"{text} {BELOW_BASELINE}" if baseline is not None and value < baseline else text


def _numbers(cell) -> dict:
    if cell is None:
        return {"mean": float("nan"), "std": float("nan"), "seeds": 0, "seed list": "",
                "MLflow runs": ""}  # fmt: skip
    return {key: cell[key] for key in ("mean", "std", "seeds", "seed list", "MLflow runs")}


def baseline_runs(
    scale: str, *, seeds: int | None = None, overrides: Sequence[str] = (), client=None
) -> tuple[pd.DataFrame, list]:
    """The ``main`` sweep's runs the table's baseline column reads (finished ones tidy, and
    every one's state): its setting at the table's own schedule, so the baselines trained as
    long as the rows they are set beside."""
    return main_runs(
        _setting(scale),
        scale=scale,
        seeds=seeds,
        overrides=overrides,
        client=client,
        schedule_of="sensitivity",
    )


def write_report(selection: Selection, out: Path) -> Path:
    """reports/sensitivity.{md,csv} from the sweep's runs (and the main sweep's baselines)."""
    from benchmarks.tables.convergence import trained_note
    from benchmarks.tables.report import write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    grid = grid_runs(
        "sensitivity", scale=scale, seeds=selection.seeds, overrides=selection.overrides
    )
    main, _ = baseline_runs(scale, seeds=selection.seeds, overrides=selection.overrides)
    baseline = best_baseline(main)
    shown, numbers = sensitivity_table(
        cell_summary(grid.tidy, STATISTIC), None if baseline is None else baseline[1]
    )
    # The default point is one run per seed in every row: name it once, draw it once.
    shared = grid.tidy["run_id"].duplicated(keep=False)
    cells = grid.tidy.assign(
        method=[
            "default point" if is_shared else f"{row} = {column}"
            for (row, column), is_shared in zip(
                grid.tidy[["row", "column"]].values, shared, strict=True
            )
        ]
    ).drop_duplicates("run_id")
    trained = trained_note(cells, out, "sensitivity-curves.png")
    md, csv = write_table(
        shown,
        "sensitivity",
        out,
        title=f"Table 7: Co-Mixup's hyperparameters one at a time, {scale} scale",
        notes="\n\n".join(
            n
            for n in (
                _notes(scale, baseline, list(dict.fromkeys(grid.tidy["row"]))),
                missing_note(grid.states),
                trained,
            )
            if n
        ),
        floatfmt="g",
    )
    numbers.to_csv(csv, index=False)
    return md


def _notes(scale: str, baseline, rows: Sequence[str] = ()) -> str:
    """The table's notes; ``rows`` are those with runs (the others are not run at ``scale``)."""
    published = paper.published("table7")
    best = published["best_baseline"]
    if baseline is None:
        measured = (
            "no finished baseline run of the `main` sweep in this setting yet "
            f"(`comixup-bench sweep main --scale {scale}`), so no measured value is marked"
        )
    else:
        method, mean, std, count = baseline
        measured = f"measured: {method}, {mean_std(mean, std)} over {count} seeds (main sweep)"
    return (
        f"Top-1 test error (%), median of the last 10 epochs, mean (std) over seeds, on "
        f"{_setting(scale)}; one hyperparameter varied at a time, the others at their defaults; "
        f"the default point is one run per seed, shared by {_rows_words(rows)}. Bold: the best "
        f"of each row; {BELOW_BASELINE}: below the best baseline (paper: {best['method']}, "
        f"{best['error']:.2f}; {measured}). Paper: {published['source']}. "
        + scale_note(scale)
        + (" Batches of 32: m = 50 is one partition." if scale == "smoke" else "")
    )


def _rows_words(rows: Sequence[str]) -> str:
    if not rows or len(rows) == len(SENSITIVITY_ROWS):
        return "the rows"
    return (
        f"the rows run ({', '.join(rows)}); the others have no runs at this scale "
        "(the grid is in benchmarks/sweep/experiments.py)"
    )


def scale_note(
    scale: str,
    methods: str = "hyperparameter values",
    experiment: str = "sensitivity",
    from_main: str = "the default point and the baselines are",
) -> str:
    """What a Table 7 or 8 (``experiment``) at ``scale`` says, with its reduced schedule;
    ``from_main`` names the runs the table reads from the main sweep."""
    if scale == "reduced":
        from benchmarks.sweep.experiments import REDUCED, get_experiment
        from benchmarks.tables.report import schedule_words

        changes = get_experiment(experiment).reduced or REDUCED
        return (
            f"Reduced scale: the boxed digits for {schedule_words(changes)} "
            f"(benchmarks/sweep/experiments.py; {from_main} main's runs at that schedule), "
            "with the fewer cells and seeds written there; its numbers test the "
            f"paper's orderings of the {methods}, never its absolute values."
        )
    if scale == "smoke":
        return (
            "Smoke scale: the built-in digits set on CPU with a narrow net, a few batches and "
            "one seed (benchmarks/sweep/experiments.py SMOKE); it checks the pipeline, its "
            f"numbers say nothing about the {methods}."
        )
    return "Paper scale: the CIFAR-100 preset (300 epochs) in benchmarks/configs."


def claims(scale: str, seeds: int | None, overrides: Sequence[str] = ()) -> list[Claim]:
    """One claim per (hyperparameter, value) of Table 7, from the current tracking URI."""
    grid = grid_runs("sensitivity", scale=scale, seeds=seeds, overrides=overrides)
    summary = cell_summary(grid.tidy, STATISTIC)
    device = devices(list(grid.tidy["run_id"].unique())) if len(grid.tidy) else ""
    setting = _setting(scale)
    return [
        cell_claim(
            lookup(summary, row=row, column=label),
            experiment="sensitivity",
            table="Table 7",
            claim=f"Co-Mixup top-1 error, {row} = {label}, {setting}",
            paper=error,
            scale=scale,
            device=device,
        )
        for (row, label), error in paper_errors().items()
    ]


def directions(scale: str, seeds: int | None) -> list:
    """Table 7's orderings at ``scale``: in each row, the paper's best value errs less than
    each other value run (at reduced scale the row's worst; for m, 20 against 2 is also the
    paper's trend of error falling with m), paired over seeds."""
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.main_table import MEDIAN10

    grid = grid_runs("sensitivity", scale=scale, seeds=seeds)
    published = paper_errors()
    ran = {(v.row, v.column) for v in get_experiment("sensitivity").variants_at(scale)}
    found = []
    for row in SENSITIVITY_ROWS:
        values = [label for (r, label) in published if r == row]
        run = [label for label in values if (row, label) in ran]
        best = min(values, key=lambda label: published[(row, label)])
        if best not in run:
            continue
        ours = (f"{row} = {best}", *by_seed(grid.tidy, STATISTIC, row=row, column=best))
        for other in (label for label in run if label != best):
            trend = " (error falls as m grows)" if row == "m" else ""
            found.append(
                direction(
                    "Table 7",
                    f"{row} = {best} (the paper's best) errs less than {row} = {other}{trend}, "
                    f"{_setting(scale)}",
                    ours,
                    (f"{row} = {other}", *by_seed(grid.tidy, STATISTIC, row=row, column=other)),
                    statistic=MEDIAN10,
                    scale=scale,
                    command=f"comixup-bench sweep sensitivity --scale {scale}",
                )
            )
    return found
