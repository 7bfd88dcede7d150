"""Supplement Table 4: convergence time of Algorithm 1, Narasimhan-Bilmes.

Mean seconds until each algorithm stops on Table 3's problems; writes reports/table4.{md,csv}
and one MLflow run. A shortcut of ``comixup-bench analysis``'s part (the same
implementation, ``benchmarks.analysis.report.run_table4``).

Examples:
    comixup-bench table4
    comixup-bench table4 --seeds 10 --sizes 5 10
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis
from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "table4", __doc__, run)
    _analysis.add_options(parser, seeds=True)


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis.report import run_table4

    section = run_table4(
        seeds=args.seeds, sizes=args.sizes, out=args.out, progress=not args.no_progress
    )
    return _analysis.show_section(section)
