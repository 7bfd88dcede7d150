"""Build an experiment's table from its MLflow runs only (no training).

main: per setting and method, mean (std) over seeds of the median of the last 10 epochs' top-1
error, the last and best beside it, the seeds, and the run ids in the CSV; writes
reports/main.{md,csv}. significance: the paired t-test of Section 6.5 beside the paper's, with
a Wilcoxon signed-rank test, and every pair of the main table's methods with Holm's correction;
writes reports/significance.{md,csv} (``comixup-bench ttest`` is the same). sensitivity
(Table 7), vat (Table 8) and speech (Table 5; ``comixup-bench table5`` is the same): the
paper's value beside the measured mean (std) per grid cell, the best of each row in bold;
writes reports/{sensitivity,vat,speech}.{md,csv}. calibration: the
ECE of every method recomputed from the main runs' final predictions beside the logged one and
the paper's (Table 6), and reliability diagrams per dataset; writes reports/calibration.{md,csv}
and reports/reliability_<dataset>.png. timing: per setting and method, ms per batch by phase
and the ratios beside the paper's, with the device; writes reports/timing.{md,csv} and
timing-ratios.csv. datasets: every method over seeds on the built-in digits and the boxed
digits, how far each set separates the methods (spread, seed noise, a one-way ANOVA) and which
set the README's main job should use; writes reports/datasets.{md,csv,png}. Runs missing or
unfinished are named under the table, which is written for the cells it has.

Examples:
    comixup-bench table significance --scale smoke
    comixup-bench table main --seeds 3
    comixup-bench table calibration --scale smoke
    comixup-bench table sensitivity --scale smoke
"""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks.commands._common import add_command, add_out
from benchmarks.sweep.experiments import EXPERIMENTS as TABLE_EXPERIMENTS

GRID_TABLES = {
    "sensitivity": "sensitivity",
    "vat": "vat",
    "speech": "table5",
    "datasets": "datasets",
}
"""Experiment -> the module of ``benchmarks.tables`` whose ``write_report`` builds its table."""


def register(subparsers: argparse._SubParsersAction, name: str = "table", doc=__doc__) -> None:
    from benchmarks.commands.sweep import add_selection

    parser = add_command(subparsers, name, doc, run)
    add_selection(parser, TABLE_EXPERIMENTS if name == "table" else ALIASES[name])
    add_out(parser)


ALIASES = {"ttest": ("significance",), "table5": ("speech",)}
"""Commands that are ``table`` of one experiment."""


def run(args: argparse.Namespace) -> int:
    try:
        path = build(args)
    except ValueError as error:
        print(f"comixup-bench {args.command}: {error}", file=sys.stderr)
        return 2
    print(path.read_text())
    return 0


def build(args: argparse.Namespace):
    import mlflow

    from benchmarks.runner import tracking
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.sweep_runs import finished, missing_note

    uri = tracking.tracking_uri()
    tracking.check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    if args.experiment in GRID_TABLES:
        module = importlib.import_module(f"benchmarks.tables.{GRID_TABLES[args.experiment]}")
        return module.write_report(args.scale, args.seeds, args.set or (), args.out)
    states = run_states(
        expand(args.experiment, scale=args.scale, seeds=args.seeds, overrides=args.set or ())
    )
    runs = finished(states)
    experiment = get_experiment(args.experiment)
    missing = missing_note(states)
    if args.experiment == "calibration":
        from benchmarks.tables.calibration import write_report

        return write_report(states, experiment, args.scale, args.out, _scale_note(args))
    if args.experiment == "main":
        return _main(args, experiment, runs, missing)
    if args.experiment == "timing":
        from benchmarks.tables import timing_table

        return timing_table.write(states, args.out, scale=args.scale, missing=missing)
    pairs_states = run_states(
        expand("main", scale=args.scale, seeds=args.seeds, overrides=args.set or ())
    )
    return _significance(args, experiment, runs, finished(pairs_states), missing)


def _main(args, experiment, runs, missing):
    from benchmarks.tables.main_table import main_table
    from benchmarks.tables.report import write_table

    settings = experiment.settings_at(args.scale)
    order = [(s.name, m) for s in settings for m in experiment.methods]
    shown, numbers = main_table(runs, order)
    md, csv = write_table(
        shown,
        "main",
        args.out,
        title=f"{experiment.title}, {args.scale} scale",
        notes=_scale_note(args) + " " + missing,
    )
    numbers.to_csv(csv, index=False)
    return md


def _significance(args, experiment, runs, main_runs, missing):
    from benchmarks.tables import significance as sig
    from benchmarks.tables.report import write_table

    first, second = experiment.methods
    setting = runs["setting"].iloc[0] if len(runs) else "-"
    frame = sig.significance_frame(runs, setting, first, second)
    pairs = sig.all_pairs(main_runs, get_main_methods()) if len(main_runs) else None
    notes = [
        f"Paired by seed: difference = {first} - {second}, median of the last 10 epochs' "
        "top-1 error in points (positive: "
        f"{second} errs less). T, dof and P from scipy.stats.ttest_rel; P one-sided tests a "
        "positive difference; the 95% CI is that of the mean difference; Wilcoxon: "
        "scipy.stats.wilcoxon, two-sided. The paper states only T 2.28 and P 0.02 (10 seeds, "
        "9 dof); the paper row's P values are computed here from its T: its P 0.02 matches the "
        "one-sided test, not the two-sided one.",
        "Seeds for 80% power: the fewest pairs for which a two-sided paired t-test at 0.05 "
        "detects the observed standardised difference (mean / std of the differences) with "
        "probability 0.8, from the noncentral t distribution (scipy.stats.nct), exact, not "
        "the normal approximation.",
        _scale_note(args),
        missing,
    ]
    md, _ = write_table(
        frame,
        "significance",
        args.out,
        title=f"{experiment.title}, {args.scale} scale",
        notes="\n\n".join(n for n in notes if n),
        floatfmt=".4g",
    )
    if pairs is not None:
        pairs_csv = args.out / "significance-pairs.csv"
        pairs.to_csv(pairs_csv, index=False)
        text = md.read_text() + (
            "\n## Beyond the paper: every pair of methods per setting of the main table\n\n"
            "Paired t-test per pair (difference = first - second), P adjusted with Holm's "
            "step-down method within each setting; seeds for 80% power as above. Also in "
            f"`{pairs_csv.name}`.\n\n" + pairs.to_markdown(index=False, floatfmt=".4g") + "\n"
        )
        md.write_text(text)
    else:
        md.write_text(
            md.read_text() + "\nNo finished run of the `main` experiment at this scale: "
            "the all-pairs section (Holm's correction) appears once "
            f"`comixup-bench sweep main --scale {args.scale}` has run.\n"
        )
    return md


def get_main_methods():
    from benchmarks.sweep.experiments import MAIN_METHODS

    return MAIN_METHODS


def _scale_note(args) -> str:
    if args.scale == "smoke":
        return (
            "Smoke scale: the built-in digits set on CPU with a narrow net and a few batches "
            "(benchmarks/sweep/experiments.py SMOKE); it checks the pipeline, its numbers say "
            "nothing about the methods."
        )
    return "Paper scale: each dataset's preset in benchmarks/configs."
