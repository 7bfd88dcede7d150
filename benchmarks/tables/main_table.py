"""The main table from a sweep's runs: per setting and method, mean (std) over seeds of the
median of the last 10 epochs' test top-1 error (the paper's statistic), the last and best
epochs beside it, and the number of seeds; the CSV adds the numbers unformatted and every
cell's MLflow run ids; writes reports/main.{md,csv}."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.tables.claims import Claim
from benchmarks.tables.selection import Selection

TITLE = "Table 1: main results (CIFAR-100 / PreActResNet18) and the official log"
REPRODUCE = "comixup-bench sweep main --scale {scale}\ncomixup-bench table main --scale {scale}"

STATISTICS = (
    ("median10", "top-1 error, median last 10 (%)"),
    ("last", "last (%)"),
    ("best", "best (%)"),
)


def mean_std(values: pd.Series) -> str:
    """``mean (std)``; the std needs two seeds, else a dash."""
    std = values.std(ddof=1)
    return f"{values.mean():.2f} ({'-' if pd.isna(std) else f'{std:.2f}'})"


def main_table(
    runs: pd.DataFrame, order: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the Markdown frame, the CSV frame) from the tidy finished runs, one row per
    (setting, method) of ``order``; a cell without a finished run shows 0 seeds."""
    shown, numbers = [], []
    for setting, method in order:
        cell = runs[(runs["setting"] == setting) & (runs["method"] == method)].sort_values("seed")
        row = {"setting": setting, "method": method}
        number = dict(row)
        for column, title in STATISTICS:
            values = cell[column].astype(float)
            row[title] = mean_std(values) if len(values) else "-"
            number[f"{column} mean"] = values.mean() if len(values) else float("nan")
            number[f"{column} std"] = values.std(ddof=1) if len(values) > 1 else float("nan")
        row["seeds"] = number["seeds"] = len(cell)
        number["seed list"] = " ".join(str(s) for s in cell["seed"])
        number["MLflow runs"] = " ".join(cell["run_id"])
        shown.append(row)
        numbers.append(number)
    return pd.DataFrame(shown), pd.DataFrame(numbers)


def write_report(selection: Selection, out: Path) -> Path:
    """reports/main.{md,csv} from the ``main`` sweep's runs of ``selection``; the Markdown's
    path. Cells without a finished run show 0 seeds, and the missing runs are named."""
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.convergence import trained_note
    from benchmarks.tables.report import scale_note, write_table
    from benchmarks.tables.sweep_runs import finished, missing_note

    experiment = get_experiment("main")
    states = run_states(
        expand("main", scale=selection.scale, seeds=selection.seeds, overrides=selection.overrides)
    )
    settings = experiment.settings_at(selection.scale)
    order = [(s.name, m) for s in settings for m in experiment.methods]
    tidy = finished(states)
    shown, numbers = main_table(tidy, order)
    md, csv = write_table(
        shown,
        "main",
        out,
        title=f"{experiment.title}, {selection.scale} scale",
        notes="\n\n".join(
            n
            for n in (
                scale_note(selection.scale),
                missing_note(states),
                trained_note(tidy, out, "main-curves.png"),
            )
            if n
        ),
    )
    numbers.to_csv(csv, index=False)
    return md


def claims(scale: str, seeds: int | None) -> list[Claim]:
    """Table 1's CIFAR-100 / PreActResNet18 cells (Puzzle Mix 20.62, Co-Mixup 19.87, top-1
    error), and the official Co-Mixup log (accuracy 80.08 median of the last 10 epochs, 80.19
    last, 80.36 best) as the anchor for the statistic, from the ``main`` sweep's runs at
    ``scale`` (at smoke scale the built-in set stands in for CIFAR-100)."""
    from benchmarks.sweep.experiments import EXPERIMENTS, expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.paper import published
    from benchmarks.tables.sweep_runs import devices, finished

    experiment = EXPERIMENTS["main"]
    settings = experiment.settings_at(scale)
    setting = next(s.name for s in settings if s.model == "preactresnet18")
    runs = finished(run_states(expand("main", scale=scale, seeds=seeds)))
    stand_in = "" if setting == "cifar100/preactresnet18" else f" (measured on {setting})"
    command = (
        f"comixup-bench sweep main --scale {scale}{_seeds_option(seeds)} && "
        f"comixup-bench table main --scale {scale}{_seeds_option(seeds)}"
    )

    def claim(method: str, column: str, what: str, paper: float, *, accuracy: bool) -> Claim:
        cell = runs[(runs["setting"] == setting) & (runs["method"] == method)]
        values = cell[column].astype(float)
        values = 100 - values if accuracy else values
        return Claim(
            table="Table 1" if not accuracy else "Official log",
            claim=f"{method} {what}, CIFAR-100 / PreActResNet18{stand_in}",
            paper=paper,
            measured=float(values.mean()) if len(values) else None,
            unit="top-1 accuracy %" if accuracy else "top-1 error %",
            scale=scale,
            seeds=len(values),
            spread=float(values.std(ddof=1)) if len(values) > 1 else None,
            command=command,
            run_ids=tuple(cell["run_id"]),
            device=devices(tuple(cell["run_id"])),
        )

    table1 = published("main")["cifar100/preactresnet18"]
    log = published("official_log")
    return [
        claim("puzzle_mix", "median10", "top-1 error", table1["puzzle_mix"], accuracy=False),
        claim("comixup", "median10", "top-1 error", table1["comixup"], accuracy=False),
        claim(
            "comixup",
            "median10",
            "accuracy, median of the last 10 epochs",
            log["median_last10"],
            accuracy=True,
        ),
        claim("comixup", "last", "accuracy, last epoch", log["last"], accuracy=True),
        claim("comixup", "best", "accuracy, best epoch", log["best"], accuracy=True),
    ]


def _seeds_option(seeds: int | None) -> str:
    return f" --seeds {seeds}" if seeds else ""


NAMES = {
    "vanilla": "Vanilla",
    "input_mixup": "Input Mixup",
    "manifold_mixup": "Manifold Mixup",
    "cutmix": "CutMix",
    "puzzle_mix": "Puzzle Mix",
    "comixup": "Co-Mixup",
    "vat": "VAT",
}
"""How the report names each method."""

MEDIAN10 = "top-1 error %, median of the last 10 epochs"


def directions(scale: str, seeds: int | None) -> list:
    """Table 1's ordering at ``scale``: Co-Mixup errs less than each baseline, per setting,
    paired over the ``main`` sweep's seeds (:mod:`benchmarks.tables.directions`)."""
    from benchmarks.sweep.experiments import EXPERIMENTS, expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.sweep_runs import finished

    experiment = EXPERIMENTS["main"]
    runs = finished(run_states(expand("main", scale=scale, seeds=seeds)))
    command = f"comixup-bench sweep main --scale {scale}{_seeds_option(seeds)}"
    found = []
    for setting in experiment.settings_at(scale):
        ours = ("comixup", *by_seed(runs, "median10", setting=setting.name, method="comixup"))
        for method in experiment.methods:
            if method == "comixup":
                continue
            theirs = (method, *by_seed(runs, "median10", setting=setting.name, method=method))
            found.append(
                direction(
                    "Table 1",
                    f"Co-Mixup errs less than {NAMES[method]}, {setting.name}",
                    ours,
                    theirs,
                    statistic=MEDIAN10,
                    scale=scale,
                    command=command,
                )
            )
    return found
