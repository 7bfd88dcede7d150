"""The reproduction report: every claim of the paper beside what the suite measured.

Reads the runs of every covered table from MLflow (no training) and writes reports/README.md
(summary of claims with paper, measured, difference and verdict; per table the commands to
reproduce it, the MLflow runs, scale, seeds and device, its figures inline) and
reports/claims.csv: the claims of every table of ``benchmarks.tables.TABLES`` and of the
algorithm analysis' logged runs. A table whose module is not built yet is listed as such.

Examples:
    comixup-bench report --scale smoke
    comixup-bench report --scale paper --seeds 3
"""

from __future__ import annotations

import argparse

from benchmarks.commands._common import add_command, add_out, positive_int
from benchmarks.sweep.experiments import SCALES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "report", __doc__, run)
    parser.add_argument("--scale", choices=SCALES, default="paper", help="%(choices)s")
    parser.add_argument(
        "--seeds", type=positive_int, help="seeds 0..N-1 (default: each experiment's)"
    )
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    from benchmarks.commands.table import point_at_store
    from benchmarks.tables.reproduction import write_report

    point_at_store()
    readme, csv = write_report(args.out, scale=args.scale, seeds=args.seeds)
    print(readme.read_text())
    print(f"wrote {readme} and {csv}")
    return 0
