"""Table 8: VAT on CIFAR-100 / PreActResNet18, loss weight alpha x (power iterations, l-inf
radius epsilon), from the ``vat`` sweep, with Co-Mixup beside it.

Each cell is the mean (std) over seeds of the median of the last 10 epochs' test top-1 error,
beside the supplement's value; bold marks the best of each alpha row. Co-Mixup's measured
error comes from the ``main`` sweep's Co-Mixup runs of the same setting and scale (its
defaults are those of Table 1, where the supplement's 19.87 comes from), so Table 8 needs no
Co-Mixup run of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.sweep.experiments import VAT_ALPHAS, VAT_COLUMNS, get_experiment
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
from benchmarks.tables.sensitivity import scale_note

STATISTIC = "median10"

TITLE = "Table 8: VAT"
REPRODUCE = "comixup-bench sweep vat --scale {scale}\ncomixup-bench table vat --scale {scale}"


def _setting(scale: str) -> str:
    experiment = get_experiment("vat")
    settings = experiment.settings_at(scale)
    return settings[0].name


def column_label(power: int, epsilon: int) -> str:
    """The column's name as the sweep's variants give it."""
    variants = get_experiment("vat").variants
    assignments = (f"vat.n_power={power}", f"vat.epsilon={epsilon}")
    return next(v.column for v in variants if set(assignments) <= set(v.overrides))


def paper_errors() -> dict[tuple[str, int, int], float]:
    """(alpha label, power iterations, epsilon) -> the supplement's error."""
    values = paper.published("table8")
    columns = list(zip(values["power_iterations"], values["epsilon"], strict=True))
    return {
        (f"{alpha:g}", power, epsilon): values[str(alpha)][columns.index((power, epsilon))]
        for alpha in VAT_ALPHAS
        for power, epsilon in VAT_COLUMNS
    }


def vat_table(summary: pd.DataFrame, comixup: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Markdown frame, CSV frame): one row per (alpha, power iterations, epsilon) in Table
    8's order, then Co-Mixup (``comixup``: its tidy finished runs from the main sweep)."""
    published = paper_errors()
    shown, numbers = [], []
    for alpha in VAT_ALPHAS:
        row = f"{alpha:g}"
        found = {
            (power, epsilon): lookup(summary, row=row, column=column_label(power, epsilon))
            for power, epsilon in VAT_COLUMNS
        }
        means = [c["mean"] for c in found.values() if c is not None]
        best_paper = min(published[(row, *column)] for column in VAT_COLUMNS)
        for (power, epsilon), cell in found.items():
            ours = published[(row, power, epsilon)]
            measured = "-" if cell is None else mean_std(cell["mean"], cell["std"])
            if cell is not None and cell["mean"] == min(means):
                measured = f"**{measured}**"
            shown.append(
                {
                    "method": "VAT",
                    "alpha": row,
                    "power iterations": power,
                    "epsilon (8-bit steps)": epsilon,
                    "paper (%)": f"**{ours:.2f}**" if ours == best_paper else f"{ours:.2f}",
                    "measured (%)": measured,
                    "seeds": 0 if cell is None else int(cell["seeds"]),
                }
            )
            numbers.append(
                {"method": "vat", "alpha": alpha, "power iterations": power,
                 "epsilon": epsilon, "paper": ours, **_numbers(cell)}
            )  # fmt: skip
    shown.append(_comixup_shown(comixup))
    numbers.append(_comixup_numbers(comixup))
    return pd.DataFrame(shown), pd.DataFrame(numbers)


def _numbers(cell) -> dict:
    if cell is None:
        return {"mean": float("nan"), "std": float("nan"), "seeds": 0, "seed list": "",
                "MLflow runs": ""}  # fmt: skip
    return {key: cell[key] for key in ("mean", "std", "seeds", "seed list", "MLflow runs")}


def _comixup_stats(comixup: pd.DataFrame) -> tuple[float, float, int]:
    values = comixup[STATISTIC].astype(float)
    std = values.std(ddof=1) if len(values) > 1 else float("nan")
    return values.mean() if len(values) else float("nan"), std, len(values)


def _comixup_shown(comixup: pd.DataFrame) -> dict:
    mean, std, count = _comixup_stats(comixup)
    return {
        "method": "Co-Mixup (main sweep)",
        "alpha": "",
        "power iterations": "",
        "epsilon (8-bit steps)": "",
        "paper (%)": f"{paper.published('table8')['comixup']:.2f}",
        "measured (%)": mean_std(mean, std) if count else "-",
        "seeds": count,
    }


def _comixup_numbers(comixup: pd.DataFrame) -> dict:
    mean, std, count = _comixup_stats(comixup)
    ordered = comixup.sort_values("seed")
    return {
        "method": "comixup",
        "paper": paper.published("table8")["comixup"],
        "mean": mean,
        "std": std,
        "seeds": count,
        "seed list": " ".join(map(str, ordered["seed"])),
        "MLflow runs": " ".join(ordered["run_id"]),
    }


def write_report(selection: Selection, out: Path) -> Path:
    """reports/vat.{md,csv} from the sweep's runs (and the main sweep's Co-Mixup)."""
    from benchmarks.tables.convergence import trained_note
    from benchmarks.tables.report import write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    grid = grid_runs("vat", scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    main, main_states = main_runs(
        _setting(scale), scale=scale, seeds=selection.seeds, overrides=selection.overrides
    )
    comixup = main[main["method"] == "comixup"]
    shown, numbers = vat_table(cell_summary(grid.tidy, STATISTIC), comixup)
    lacking = [s for s in main_states if s.run.method == "comixup"]
    cells = grid.tidy.assign(
        method=[f"VAT alpha {row}, {column}" for row, column in grid.tidy[["row", "column"]].values]
    )
    notes = [
        _notes(scale),
        missing_note(grid.states),
        missing_note(lacking).replace("Missing", "Co-Mixup (main sweep) missing", 1),
        trained_note(cells, out, "vat-curves.png"),
    ]
    md, csv = write_table(
        shown,
        "vat",
        out,
        title=f"Table 8: VAT's settings beside Co-Mixup, {scale} scale",
        notes="\n\n".join(n for n in notes if n),
        floatfmt="g",
    )
    numbers.to_csv(csv, index=False)
    return md


def _notes(scale: str) -> str:
    return (
        f"Top-1 test error (%), median of the last 10 epochs, mean (std) over seeds, on "
        f"{_setting(scale)}. VAT (baselines/vat.py): loss = cross-entropy + alpha x KL(p(x) || "
        "p(x + r_adv)), r_adv in an l-inf ball of radius epsilon 8-bit pixel steps, found with "
        "0 (random direction) or 1 power iteration. Bold: the best of each alpha row. Co-Mixup: "
        "the main sweep's Co-Mixup runs of the same setting and scale (`comixup-bench sweep "
        f"main --scale {scale}`), over every seed main has; the report's verdicts pair it with "
        "VAT on the seeds both have, so their Co-Mixup mean can differ from this one. "
        f"Paper: {paper.published('table8')['source']}. "
        + scale_note(scale, "methods", "vat", "Co-Mixup's numbers are")
    )


def claims(scale: str, seeds: int | None, overrides: Sequence[str] = ()) -> list[Claim]:
    """One claim per VAT setting of Table 8, from the current tracking URI."""
    grid = grid_runs("vat", scale=scale, seeds=seeds, overrides=overrides)
    summary = cell_summary(grid.tidy, STATISTIC)
    device = devices(list(grid.tidy["run_id"].unique())) if len(grid.tidy) else ""
    return [
        cell_claim(
            lookup(summary, row=alpha, column=column_label(power, epsilon)),
            experiment="vat",
            table="Table 8",
            claim=(
                f"VAT top-1 error, alpha {alpha}, {power} power iterations, l-inf epsilon "
                f"{epsilon}, {_setting(scale)}"
            ),
            paper=error,
            scale=scale,
            device=device,
        )
        for (alpha, power, epsilon), error in paper_errors().items()
    ]


def directions(scale: str, seeds: int | None) -> list:
    """Table 8's ordering at ``scale``: Co-Mixup (the main sweep's runs) errs less than VAT in
    each setting run, paired over seeds."""
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.main_table import MEDIAN10

    grid = grid_runs("vat", scale=scale, seeds=seeds)
    main, _ = main_runs(_setting(scale), scale=scale, seeds=seeds)
    ours = ("comixup", *by_seed(main, STATISTIC, method="comixup"))
    return [
        direction(
            "Table 8",
            f"Co-Mixup errs less than VAT at alpha {v.row}, {v.column}, {_setting(scale)}",
            ours,
            (f"VAT {v.row}, {v.column}", *by_seed(grid.tidy, STATISTIC, row=v.row, column=c)),
            statistic=MEDIAN10,
            scale=scale,
            command=f"comixup-bench sweep vat --scale {scale} && "
            f"comixup-bench sweep main --scale {scale}",
        )
        for c, v in ((v.column, v) for v in get_experiment("vat").variants_at(scale))
    ]
