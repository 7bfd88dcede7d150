"""Build an experiment's table from its MLflow runs only (no training).

main: per setting and method, mean (std) over seeds of the median of the last 10 epochs' top-1
error, the last and best beside it, the seeds, and the run ids in the CSV; writes
reports/main.{md,csv}. significance: the paired t-test of Section 6.5 beside the paper's, with
a Wilcoxon signed-rank test, and every pair of the main table's methods with Holm's correction;
writes reports/significance.{md,csv} (``comixup-bench ttest`` is a shortcut of it). sensitivity
(Table 7), vat (Table 8) and speech (Table 5; ``comixup-bench table5`` is a shortcut of it): the
paper's value beside the measured mean (std) per grid cell, the best of each row in bold;
writes reports/{sensitivity,vat,speech}.{md,csv}. calibration: the
ECE of every method recomputed from the main runs' final predictions beside the logged one and
the paper's (Table 6), and reliability diagrams per dataset; writes reports/calibration.{md,csv}
and reports/reliability_<dataset>.png. timing: per setting and method, ms per batch by phase
and the ratios beside the paper's, with the device; writes reports/timing.{md,csv} and
timing-ratios.csv. datasets: every method over seeds on the built-in digits and the boxed
digits, how far each set separates the methods (spread, seed noise, a one-way ANOVA) and which
set the README's main job should use; writes reports/datasets.{md,csv,png}. Runs missing or
unfinished are named under the table, which is written for the cells it has. The tables are
those of ``benchmarks.tables.TABLES``.

Examples:
    comixup-bench table significance --scale smoke
    comixup-bench table main --seeds 3
    comixup-bench table calibration --scale smoke
    comixup-bench table sensitivity --scale smoke
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.commands._common import add_command, add_out
from benchmarks.tables import TABLES

SHORTCUTS = {"ttest": "significance", "table5": "speech"}
"""Commands that are ``table`` of one table: documented shortcuts, the same implementation."""


def register(subparsers: argparse._SubParsersAction, name: str = "table", doc=__doc__) -> None:
    from benchmarks.commands.sweep import add_selection

    parser = add_command(subparsers, name, doc, run)
    add_selection(parser, tuple(TABLES) if name == "table" else (SHORTCUTS[name],))
    add_out(parser)


def point_at_store() -> None:
    """Read from the tracking store (``MLFLOW_TRACKING_URI``, else the local one), failing fast
    when its server does not answer."""
    import mlflow

    from benchmarks.runner import tracking

    uri = tracking.tracking_uri()
    tracking.check_reachable(uri)
    mlflow.set_tracking_uri(uri)


def run(args: argparse.Namespace) -> int:
    from benchmarks.tables import get_table
    from benchmarks.tables.selection import Selection

    selection = Selection.of(args.scale, args.seeds, args.set)
    point_at_store()
    try:
        path = get_table(args.experiment).write_report(selection, args.out)
    except ValueError as error:
        print(f"comixup-bench {args.command}: {error}", file=sys.stderr)
        return 2
    print(path.read_text())
    return 0
