"""Supplement Table 2: solver vs brute force vs random guess on tiny problems.

Algorithm 1 against exact brute force and random guess (supplement Table 2), for normalised
and un-normalised costs; writes reports/table2.{md,csv}.

Examples:
    comixup-bench table2
    comixup-bench table2 --seeds 10 --out /tmp/reports
"""

from __future__ import annotations

import argparse

from benchmarks.commands._common import add_command, add_no_progress, add_out, positive_int

SEEDS = 100
"""Problems per row (the supplement's); ``benchmarks.analysis.table2.run``'s default."""
TITLE = "Table 2: Algorithm 1 vs exact brute force and random guess"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "table2", __doc__, run)
    parser.add_argument("--seeds", type=positive_int, default=SEEDS, help="problems per row")
    add_out(parser)
    add_no_progress(parser, "hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis import table2
    from benchmarks.tables.report import write_table

    frame = table2.run(seeds=args.seeds, progress=not args.no_progress)
    md_path, csv_path = write_table(frame, "table2", args.out, title=TITLE, notes=table2.NOTES)
    print(md_path.read_text())
    print(f"wrote {md_path} and {csv_path}")
    return 0
