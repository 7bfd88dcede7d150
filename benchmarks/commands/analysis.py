"""``comixup-bench analysis``: Tables 2, 3, 4 and Figure 2 in one go, with the summary
``reports/analysis.md``."""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    _analysis.register(
        subparsers,
        "analysis",
        help="Tables 2, 3, 4 and Figure 2 in one go, with reports/analysis.md",
        description="Runs the whole algorithm analysis and writes reports/analysis.md with "
        "the environment (CPU, threads, versions) the timings were taken on.",
        example_lines=(
            "comixup-bench analysis",
            "comixup-bench analysis --seeds 5 --trials 5 --sizes 5 10  # a quick look",
        ),
        options=("seeds", "trials", "levels"),
        run=run,
    )


def run(args: argparse.Namespace) -> int:
    analysis = _analysis.tracked_analysis()
    path, sections = analysis.run_analysis(
        seeds=args.seeds,
        trials=args.trials,
        sizes=args.sizes,
        levels=args.levels,
        out=args.out,
        progress=not args.no_progress,
    )
    print(path.read_text())
    for section in sections:
        print(f"{section.name}: MLflow run {section.run_id}")
    print(f"wrote {path}")
    return 0
