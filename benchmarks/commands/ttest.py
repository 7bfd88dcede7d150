"""The paired t-test of Section 6.5 from the significance sweep's runs.

The same as ``comixup-bench table significance``: writes reports/significance.{md,csv}.

Examples:
    comixup-bench ttest --scale smoke
"""

from __future__ import annotations

import argparse

from benchmarks.commands import table


def register(subparsers: argparse._SubParsersAction) -> None:
    table.register(subparsers, "ttest", __doc__)
