"""Supplement Table 4: convergence time of Algorithm 1 and Narasimhan-Bilmes.

Mean seconds until each algorithm stops on Table 3's problems; writes reports/table4.{md,csv}
and one MLflow run.

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
    return _analysis.run_table(args, "table4")
