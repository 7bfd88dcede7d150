"""Supplement Figure 2: Algorithm 1's time per batch over |L| and over m.

Mean ms per solve over --trials problems, over |L| (m = 20) and over m (|L| = 3), with the
fitted log-log slopes; writes reports/figure2.{png,csv,md} and one MLflow run. A shortcut of
``comixup-bench analysis``'s part (the same implementation,
``benchmarks.analysis.report.run_figure2``).

Examples:
    comixup-bench figure2
    comixup-bench figure2 --trials 10 --levels 2 3 --sizes 5 10 20
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis
from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "figure2", __doc__, run)
    _analysis.add_options(parser, trials=True, levels=True)


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis import figure2
    from benchmarks.analysis.report import run_figure2

    section = run_figure2(
        trials=args.trials,
        levels=args.levels,
        sizes=args.sizes,
        out=args.out,
        progress=not args.no_progress,
    )
    _analysis.show_section(section)
    slopes = section.extra.items()
    print(
        "\n".join(
            f"fitted growth over {figure2.AXES[k]}: slope {v:.3f} (log-log)" for k, v in slopes
        )
    )
    return 0
