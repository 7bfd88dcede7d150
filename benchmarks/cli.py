"""The ``comixup-bench`` command line: the top-level parser and the entry point.

Each command lives in its own module of :mod:`benchmarks.commands`; this file only puts them
together, in the order of ``benchmarks.commands.COMMANDS``, the shortcuts marked as
``benchmarks.commands._common.SHORTCUTS`` says. ``python -m benchmarks.cli`` works too
(``torchrun ... -m benchmarks.cli train``).

How a command ends: status 0 when it did its work; a user error (``benchmarks.errors``: a bad
option or override, missing data, an unreachable tracking server, an unreadable checkpoint)
prints one line with the fix and exits 2, as argparse does for a bad option; Ctrl-C and SIGTERM
exit 130 and 143 once the run is marked KILLED with its last checkpoint intact; a bug keeps
its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from benchmarks.commands import register_all
from benchmarks.commands._common import HelpFormatter, examples
from benchmarks.errors import UserError
from benchmarks.runner import interrupts


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comixup-bench",
        description=(
            "Reproduce the Co-Mixup paper's tables and compare mixup methods. A command marked "
            "[= table speech] is a shortcut of that command (the paper's table names)."
        ),
        epilog=examples(
            "comixup-bench compare  # the main job: every method on the boxed digits",
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
    prog = f"comixup-bench {args.command}"
    try:
        return args.handler(args)
    except UserError as error:
        print(f"{prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        print(
            f"{prog}: stopped by {interrupts.signal_name(interrupt)}; the last checkpoint is "
            "kept: rerun the same command to resume.",
            file=sys.stderr,
        )
        return interrupts.exit_status(interrupt)


if __name__ == "__main__":
    raise SystemExit(main())
