"""The ``comixup-bench`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

REPORTS = Path("reports")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _table2(args: argparse.Namespace) -> int:
    from benchmarks.tables import table2
    from benchmarks.tables.report import write_table

    frame = table2.run(seeds=args.seeds, progress=not args.no_progress)
    md_path, csv_path = write_table(
        frame,
        "table2",
        args.out,
        title="Table 2: Algorithm 1 vs exact brute force and random guess",
        notes=table2.NOTES,
    )
    print(md_path.read_text())
    print(f"wrote {md_path} and {csv_path}")
    return 0


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comixup-bench",
        description="Reproduce the Co-Mixup paper's tables and compare mixup methods.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    table2 = commands.add_parser(
        "table2",
        help="supplement Table 2: solver vs brute force vs random guess on tiny problems",
        description="Algorithm 1 against exact brute force and random guess (supplement "
        "Table 2), for normalised and un-normalised costs; writes reports/table2.{md,csv}.",
    )
    table2.add_argument("--seeds", type=_positive_int, default=100, help="problems per row")
    table2.add_argument("--out", type=Path, default=REPORTS, help="output folder")
    table2.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    table2.set_defaults(handler=_table2)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
