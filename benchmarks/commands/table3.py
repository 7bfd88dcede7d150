"""Supplement Table 3: f of Algorithm 1, Narasimhan-Bilmes and random guess.

Mean (std) f over random problems with m = m' in --sizes (4x4 grid, paper defaults); writes
reports/table3.{md,csv} and one MLflow run.

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
    return _analysis.run_table(args, "table3")
