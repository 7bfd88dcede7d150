"""Tables 2, 3, 4 and Figure 2 in one go, with reports/analysis.md.

Runs the whole algorithm analysis, logs one MLflow run per part and writes reports/analysis.md
with the environment (CPU, threads, versions) the timings were taken on. ``table2``,
``table3``, ``table4`` and ``figure2`` are shortcuts of its parts, one at a time.

Examples:
    comixup-bench analysis
    comixup-bench analysis --seeds 5 --trials 5 --sizes 5 10  # a quick look
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _analysis
from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "analysis", __doc__, run)
    _analysis.add_options(parser, seeds=True, trials=True, levels=True)


def run(args: argparse.Namespace) -> int:
    from benchmarks.analysis.report import run_analysis

    path, sections = run_analysis(
        seeds=args.seeds,
        trials=args.trials,
        sizes=args.sizes,
        levels=args.levels,
        out=args.out,
        progress=not args.no_progress,
    )
    print(path.read_text())
    print("\n".join(f"{section.name}: MLflow run {section.run_id}" for section in sections))
    print(f"wrote {path}")
    return 0
