"""The ``comixup-bench`` command line: the top-level parser and the entry point.

Each command lives in its own module of :mod:`benchmarks.commands`; this file only puts them
together. ``python -m benchmarks.cli`` works too (``torchrun ... -m benchmarks.cli train``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from benchmarks.commands import register_all
from benchmarks.commands._common import HelpFormatter, examples


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comixup-bench",
        description="Reproduce the Co-Mixup paper's tables and compare mixup methods.",
        epilog=examples(
            "comixup-bench compare --dataset builtin --epochs 2 --limit-batches 5",
            "comixup-bench train --dataset cifar100 --method comixup --data-dir ~/data",
            "comixup-bench table2 --seeds 10",
            "comixup-bench COMMAND --help  # the options of one command",
        ),
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
