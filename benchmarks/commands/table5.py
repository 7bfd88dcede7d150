"""Table 5, Speech Commands.

A documented shortcut of ``comixup-bench table speech`` (the same implementation,
``benchmarks.tables.table5``): per model, the supplement's errors and the measured
test error at the best validation epoch, mean (std) over seeds, best per row in bold; writes
reports/speech.{md,csv}. The runs are trained by ``comixup-bench sweep speech`` ({LeNet,
VGG-11} x {vanilla, input, manifold, CutMix, Puzzle Mix, Co-Mixup}; --scale smoke: the offline
spoken-words set on CPU; paper: Google Speech Commands, --set data_dir=...).

Examples:
    comixup-bench sweep speech --scale smoke && comixup-bench table5 --scale smoke
    comixup-bench sweep speech --set data_dir=~/data/speech --set download=true
    comixup-bench table5
"""

from __future__ import annotations

import argparse

from benchmarks.commands import table


def register(subparsers: argparse._SubParsersAction) -> None:
    table.register(subparsers, "table5", __doc__)
