"""Table 5: top-1 test error on Google Speech Commands, {LeNet, VGG-11} x six methods, from the
``speech`` sweep.

The Co-Mixup supplement's speech experiment (protocol in ``benchmarks.configs.speech``): each
run trains up to 30 epochs, stops when the validation accuracy has not improved for 5 epochs,
and reports the test error at its best validation epoch, the metric
``test_top1_error_at_best_val`` that the runner logs. The runs are the sweep's (launched,
resumed and skipped by ``comixup-bench sweep speech``), found in MLflow by their keys. Each
model has two rows, the supplement's and the measured mean (std) over seeds; the best
(lowest) of each row is in bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.sweep.experiments import get_experiment
from benchmarks.tables import paper
from benchmarks.tables.claims import Claim
from benchmarks.tables.grid_cells import (
    cell_claim,
    cell_summary,
    devices,
    grid_runs,
    lookup,
    mean_std,
)
from benchmarks.tables.selection import Selection

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
STATISTIC = "at_best_val"
CURVES = "speech-curves.png"
"""The tidy column of :data:`METRIC` (``benchmarks.tables.grid_cells.METRICS``)."""

TITLE = "Table 5: Google Speech Commands"
REPRODUCE = "comixup-bench sweep speech --scale {scale}\ncomixup-bench table speech --scale {scale}"


def _dataset(scale: str) -> str:
    experiment = get_experiment("speech")
    settings = experiment.settings_at(scale)
    return settings[0].dataset


def speech_table(summary: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Markdown frame, CSV frame). Markdown: per model a row of the supplement's errors and
    one of the measured mean (std), methods as columns, each row's best in bold; CSV: one row
    per (model, method) with the paper's value, mean, std, seeds and run ids."""
    shown, numbers = [], []
    for model, model_name in MODELS.items():
        published = paper.by_method("table5", model)
        found = {m: lookup(summary, setting=f"{dataset}/{model}", method=m) for m in METHODS}
        measured = {m: c["mean"] for m, c in found.items() if c is not None}
        paper_row = {"model": model_name, "errors": "paper"}
        ours_row = {"model": model_name, "errors": "measured"}
        for method, title in METHODS.items():
            value, cell = published[method], found[method]
            paper_row[title] = _bold(f"{value:.2f}", value == min(published.values()))
            ours_row[title] = "-"
            if cell is not None:
                text = mean_std(cell["mean"], cell["std"])
                ours_row[title] = _bold(text, cell["mean"] == min(measured.values()))
            numbers.append(
                {"model": model, "method": method, "paper": value,
                 **{k: (cell[k] if cell is not None else None)
                    for k in ("mean", "std", "seeds", "seed list", "MLflow runs")}}
            )  # fmt: skip
        shown += [paper_row, ours_row]
    frame = pd.DataFrame(numbers)
    frame["seeds"] = frame["seeds"].fillna(0).astype(int)
    return pd.DataFrame(shown), frame


def _bold(text: str, best: bool) -> str:
    return f"**{text}**" if best else text


def write_report(selection: Selection, out: Path) -> Path:
    """reports/speech.{md,csv} from the speech sweep's runs."""
    from benchmarks.tables.convergence import trained_note
    from benchmarks.tables.report import write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    grid = grid_runs("speech", scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    dataset = _dataset(scale)
    shown, numbers = speech_table(cell_summary(grid.tidy, STATISTIC), dataset)
    md, csv = write_table(
        shown,
        "speech",
        out,
        title=f"Table 5: top-1 test error (%) on {dataset}, LeNet and VGG-11, {scale} scale",
        notes="\n\n".join(
            n
            for n in (
                notes(grid.tidy, dataset, scale),
                # The runs stop early: judge each by the error it is reported at.
                trained_note(grid.tidy.assign(median10=grid.tidy[STATISTIC]), out, CURVES),
                missing_note(grid.states),
            )
            if n
        ),
        floatfmt=".2f",  # cells without bold are parsed as numbers by tabulate
    )
    numbers.to_csv(csv, index=False)
    return md


def notes(tidy: pd.DataFrame, dataset: str, scale: str) -> str:
    seeds = sorted(set(tidy["seed"]))
    source = paper.published("table5")["source"]
    smoke = {
        "smoke": " Smoke scale: the offline spoken-words preset (benchmarks/configs/speech.py) "
        "shortened as benchmarks/sweep/experiments.py SPEECH_SMOKE says (4 epochs of 4 batches, "
        "width 8, patience 2); its numbers check the pipeline, not the methods.",
        "reduced": " Reduced scale: the offline spoken-words preset (benchmarks/configs/"
        "speech.py) with the models at width 8 and room for 20 epochs "
        "(benchmarks/sweep/experiments.py SPEECH_REDUCED); its numbers test the paper's "
        "orderings (reports/README.md), never its Speech Commands values.",
    }.get(scale, "")
    return (
        f"Top-1 test error (%) on {dataset} at each run's best validation epoch "
        f"(`{METRIC}`; training stops after the preset's patience without a better validation "
        f"accuracy), mean (std) over seeds {', '.join(map(str, seeds)) or '-'} (std: a dash "
        "with one seed). Best of each "
        f"row in bold. {tidy['run_id'].nunique()} MLflow runs. Paper: {source}.{smoke}"
    )


def claims(scale: str, seeds: int | None, overrides: Sequence[str] = ()) -> list[Claim]:
    """One claim per (model, method) of Table 5, from the current tracking URI."""
    grid = grid_runs("speech", scale=scale, seeds=seeds, overrides=overrides)
    summary = cell_summary(grid.tidy, STATISTIC)
    dataset = _dataset(scale)
    device = devices(list(grid.tidy["run_id"].unique())) if len(grid.tidy) else ""
    return [
        cell_claim(
            lookup(summary, setting=f"{dataset}/{model}", method=method),
            experiment="speech",
            table="Table 5",
            claim=f"{METHODS[method]} top-1 error, {model_name}, {dataset}",
            paper=error,
            scale=scale,
            device=device,
        )
        for model, model_name in MODELS.items()
        for method, error in paper.by_method("table5", model).items()
    ]


def directions(scale: str, seeds: int | None) -> list:
    """Table 5's ordering at ``scale``: per model, Co-Mixup errs less than each baseline (test
    error at the best validation epoch), paired over seeds."""
    from benchmarks.tables.directions import by_seed, direction

    grid = grid_runs("speech", scale=scale, seeds=seeds)
    found = []
    for setting in get_experiment("speech").settings_at(scale):
        model = MODELS.get(setting.model, setting.model)
        ours = ("comixup", *by_seed(grid.tidy, STATISTIC, setting=setting.name, method="comixup"))
        for method in (m for m in METHODS if m != "comixup"):
            theirs = by_seed(grid.tidy, STATISTIC, setting=setting.name, method=method)
            found.append(
                direction(
                    "Table 5",
                    f"Co-Mixup errs less than {METHODS[method]}, {model}, {setting.dataset}",
                    ours,
                    (method, *theirs),
                    statistic="top-1 error %, at the best validation epoch",
                    scale=scale,
                    command=f"comixup-bench sweep speech --scale {scale}",
                )
            )
    return found
