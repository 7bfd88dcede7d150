"""The user's errors, told apart from the suite's bugs.

A :class:`UserError` is a problem with what the user asked for or has on disk -- an argument, an
override, missing data, an unreachable tracking server, an unreadable checkpoint -- and its
message names the problem and the fix. ``comixup-bench`` prints it as one line and exits with
status 2 (as argparse does for a bad option); any other exception is a bug and keeps its
traceback. It is a ``ValueError``, so code that validates with ``ValueError`` and callers that
catch one keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserError(ValueError):
    """A problem with the user's input or files; the message says how to fix it."""


@contextmanager
def user_input() -> Iterator[None]:
    """Treat a ``ValueError`` raised inside as the user's: the code inside only checks what the
    user gave (a config, data, names), so its ``ValueError`` is a refused input, not a bug."""
    try:
        yield
    except UserError:
        raise
    except ValueError as error:
        raise UserError(str(error)) from error
