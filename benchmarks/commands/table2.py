"""Supplement Table 2: solver vs brute force vs random guess.

Algorithm 1 against exact brute force and random guess (supplement Table 2), for normalised
and un-normalised costs; writes reports/table2.{md,csv} and one MLflow run. A shortcut of
``comixup-bench analysis``'s first part (the same implementation,
``benchmarks.analysis.report.run_table2``).

Examples:
    comixup-bench table2
    comixup-bench table2 --seeds 10 --out /tmp/reports
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis
from benchmarks.commands._common import add_command, add_no_progress, add_out, positive_int

SEEDS = 100
"""Problems per row (the supplement's); ``benchmarks.analysis.table2.run``'s default."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "table2", __doc__, run)
    parser.add_argument("--seeds", type=positive_int, default=SEEDS, help="problems per row")
    add_out(parser)
    add_no_progress(parser, "hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis.report import run_table2

    section = run_table2(seeds=args.seeds, out=args.out, progress=not args.no_progress)
    return _analysis.show_section(section)
