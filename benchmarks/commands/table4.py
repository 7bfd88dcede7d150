"""``comixup-bench table4``: supplement Table 4, convergence time of Algorithm 1 and
Narasimhan-Bilmes."""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    _analysis.register(
        subparsers,
        "table4",
        help="supplement Table 4: convergence time of Algorithm 1 and Narasimhan-Bilmes",
        description="Mean seconds until each algorithm stops on Table 3's problems; writes "
        "reports/table4.{md,csv} and one MLflow run.",
        example_lines=("comixup-bench table4", "comixup-bench table4 --seeds 10 --sizes 5 10"),
        options=("seeds",),
        run=run,
    )


def run(args: argparse.Namespace) -> int:
    return _analysis.run_table(args, "table4")
