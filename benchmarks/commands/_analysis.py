"""What the algorithm-analysis commands (``table2``, ``table3``, ``table4``, ``figure2``,
``analysis``) share: their options, with the supplement's defaults as plain constants (checked
against ``benchmarks.analysis`` by the tests), and how a finished section is shown."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.commands._common import (
    add_no_progress,
    add_out,
    level_count,
    positive_int,
)

SEEDS = 100
"""Random problems per size (the supplement's)."""
TRIALS = 100
"""Timed solves per point of Figure 2."""
SIZES = (5, 10, 20, 50, 100)
"""m = m' of Tables 3-4 and Figure 2's right panel: ``benchmarks.analysis.table3.SIZES``."""
LEVELS = (2, 3, 4, 5)
"""|L| of Figure 2's left panel: ``benchmarks.analysis.figure2.LEVELS``."""


def add_options(
    parser: argparse.ArgumentParser,
    *,
    seeds: bool = False,
    trials: bool = False,
    levels: bool = False,
) -> None:
    """The options of an analysis command: those it uses of ``--seeds``, ``--trials`` and
    ``--levels``, and always ``--sizes``, ``--out`` and ``--no-progress``."""
    if seeds:
        parser.add_argument("--seeds", type=positive_int, default=SEEDS, help="problems per size")
    if trials:
        parser.add_argument(
            "--trials", type=positive_int, default=TRIALS, help="timed solves per point"
        )
    parser.add_argument(
        "--sizes", type=positive_int, nargs="+", default=list(SIZES), help="m = m' values"
    )
    if levels:
        parser.add_argument(
            "--levels",
            type=level_count,
            nargs="+",
            default=list(LEVELS),
            help="|L| values of Figure 2's left panel (at least 2)",
        )
    add_out(parser)
    add_no_progress(parser)


def show_section(section: Any) -> int:
    """Print a finished section's table, the files written and its MLflow run."""
    print(section.files[0].read_text())
    print(f"wrote {', '.join(str(path) for path in section.files)}")
    print(f"MLflow run {section.run_id} (experiment 'analysis')")
    return 0
