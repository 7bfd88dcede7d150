"""The paired t-test of Section 6.5.

A documented shortcut of ``comixup-bench table significance`` (the same implementation,
``benchmarks.tables.significance``): writes reports/significance.{md,csv}.

Examples:
    comixup-bench ttest --scale smoke
"""

from __future__ import annotations

import argparse

from benchmarks.commands import table


def register(subparsers: argparse._SubParsersAction) -> None:
    table.register(subparsers, "ttest", __doc__)
