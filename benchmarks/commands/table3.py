"""Supplement Table 3: f of Algorithm 1, Narasimhan-Bilmes, random guess.

Mean (std) f over random problems with m = m' in --sizes (4x4 grid, paper defaults); writes
reports/table3.{md,csv} and one MLflow run. A shortcut of ``comixup-bench analysis``'s part
(the same implementation, ``benchmarks.analysis.report.run_table3``).

Examples:
    comixup-bench table3
    comixup-bench table3 --seeds 10 --sizes 5 10
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis
from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "table3", __doc__, run)
    _analysis.add_options(parser, seeds=True)


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis.report import run_table3

    section = run_table3(
        seeds=args.seeds, sizes=args.sizes, out=args.out, progress=not args.no_progress
    )
    return _analysis.show_section(section)
