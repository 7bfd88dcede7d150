"""The helpers every command shares: the help layout, argument types, the common options and
how a command stops on a user error.

Nothing here imports torch or the runner: building the parser (and so ``--help``) stays fast;
the names the options accept come from the registries, which import nothing heavy either.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Collection
from pathlib import Path
from typing import NoReturn

from benchmarks.errors import UserError

REPORTS = Path("reports")
"""Where tables and figures are written unless ``--out`` says otherwise."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default when it has one (not for None or an off switch) and keeps
    the indented example lines of an epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        if isinstance(action.default, list | tuple):  # as it is typed: 5 10 20
            return f"{action.help} (default: {' '.join(map(str, action.default))})"
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        paragraph: list[str] = []
        for line in [*text.splitlines(), ""]:
            if line.strip() and not line.startswith("  "):
                paragraph.append(line)
                continue
            if paragraph:
                joined = " ".join(paragraph)
                lines.append(
                    textwrap.fill(joined, width, initial_indent=indent, subsequent_indent=indent)
                )
                paragraph = []
            if line.strip():
                lines.append(indent + line)
        return "\n".join(lines)


def examples(*commands: str) -> str:
    """An epilog of example command lines."""
    return "examples:\n" + "\n".join(f"  {command}" for command in commands)


SHORTCUTS = {
    "table5": "table speech",
    "ttest": "table significance",
    "table2": "analysis, Table 2 only",
    "table3": "analysis, Table 3 only",
    "table4": "analysis, Table 4 only",
    "figure2": "analysis, Figure 2 only",
}
"""The commands kept as documented shortcuts of another (the paper's table names), and what
they are the same as; ``--help`` marks them ``[= table speech]``."""


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    doc: str | None,
    run: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """The parser of command ``name``, run by ``run``, with its help from its module docstring
    ``doc``: the first line is the summary in ``comixup-bench --help``, the next paragraph the
    description, and the indented lines under ``Examples:`` close the command's help. A
    command of :data:`SHORTCUTS` says there which command it is a shortcut of."""
    text, _, example_block = (doc or name).partition("\nExamples:\n")  # doc is None under -OO
    summary, _, description = text.strip().partition("\n\n")
    example_lines = [line.strip() for line in example_block.splitlines() if line.strip()]
    shortcut = f" [= {SHORTCUTS[name]}]" if name in SHORTCUTS else ""
    parser = subparsers.add_parser(
        name,
        help=" ".join(summary.split()).rstrip(".") + shortcut,
        description=" ".join(description.split()) or summary,
        epilog=examples(*example_lines) if example_lines else None,
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(handler=run)
    return parser


def add_name_list(
    parser: argparse.ArgumentParser, flag: str, names: Collection[str], *, metavar: str, what: str
) -> None:
    """``flag NAME [NAME ...]``: one or more of ``names`` (all by default; a registry's keys, read
    when the parser is built), checked by argparse before anything loads."""
    parser.add_argument(
        flag,
        nargs="+",
        choices=names,
        default=list(names),
        metavar=metavar,
        help=f"{what}, of: %(choices)s",
    )


def _at_least(text: str, minimum: int, requirement: str) -> int:
    value = int(text)  # a ValueError here makes argparse say "invalid <type> value"
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{requirement}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argument type: an integer of at least 1."""
    return _at_least(text, 1, "must be a positive integer")


def level_count(text: str) -> int:
    """An argument type: a number of Co-Mixup mixing levels |L|, at least 2."""
    return _at_least(text, 2, "|L| must be at least 2")


def assignment(text: str) -> str:
    """An argument type: a ``--set`` override, ``KEY=VALUE`` with a non-empty key."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expects KEY=VALUE (e.g. epochs=2 or method.alpha=0.5), got {text!r}"
        )
    return text


def add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=REPORTS, help="output folder")


def add_no_progress(parser: argparse.ArgumentParser, help: str = "hide progress bars") -> None:
    parser.add_argument("--no-progress", action="store_true", help=help)


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` (the problem and the fix): ``comixup-bench`` prints
    it as one line on stderr and exits with status 2."""
    raise UserError(message)
