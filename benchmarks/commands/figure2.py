"""``comixup-bench figure2``: supplement Figure 2, Algorithm 1's time per batch over |L| and
over m."""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    _analysis.register(
        subparsers,
        "figure2",
        help="supplement Figure 2: Algorithm 1's time per batch over |L| and over m",
        description="Mean ms per solve over --trials problems, over |L| (m = 20) and over m "
        "(|L| = 3), with the fitted log-log slopes; writes reports/figure2.{png,csv,md}.",
        example_lines=(
            "comixup-bench figure2",
            "comixup-bench figure2 --trials 10 --levels 2 3 --sizes 5 10 20",
        ),
        options=("trials", "levels"),
        run=run,
    )


def run(args: argparse.Namespace) -> int:
    from benchmarks.tables import figure2

    analysis = _analysis.tracked_analysis()
    section = analysis.run_figure2(
        trials=args.trials,
        levels=args.levels,
        sizes=args.sizes,
        out=args.out,
        progress=not args.no_progress,
    )
    _analysis.show_section(section)
    for panel, slope in section.extra.items():
        print(f"fitted growth over {figure2.AXES[panel]}: slope {slope:.3f} (log-log)")
    return 0
