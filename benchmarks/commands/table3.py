"""``comixup-bench table3``: supplement Table 3, f of Algorithm 1, Narasimhan-Bilmes and
random guess."""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    _analysis.register(
        subparsers,
        "table3",
        help="supplement Table 3: f of Algorithm 1, Narasimhan-Bilmes and random guess",
        description="Mean (std) f over random problems with m = m' in --sizes (4x4 grid, "
        "paper defaults); writes reports/table3.{md,csv} and one MLflow run.",
        example_lines=("comixup-bench table3", "comixup-bench table3 --seeds 10 --sizes 5 10"),
        options=("seeds",),
        run=run,
    )


def run(args: argparse.Namespace) -> int:
    return _analysis.run_table(args, "table3")
