"""How a run stops on a signal: SIGINT (Ctrl-C) and SIGTERM (what Slurm, Kubernetes, ``timeout``
and a preempting scheduler send before SIGKILL) both raise :class:`RunInterrupted`, a
``KeyboardInterrupt``, which abandons the current batch; the runner then marks the MLflow run
KILLED and the command exits with 128 + the signal number (130, 143), as a shell reports it.

Writes that must not be cut in half -- an epoch's MLflow records with its checkpoint, opening
and closing a run -- run inside :func:`deferred`: a signal that arrives there is held until the
block ends. Python runs signal handlers in the main thread only, so :func:`stop_on_signals`
installs the handlers only there, and only over Python's defaults (a caller's own handler,
e.g. a cluster launcher's requeue hook, is left in place).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Raised by the handler of SIGINT or SIGTERM (``signum``)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    def __reduce__(self):
        # Rebuilt from the number, not the name: a run in a worker process (``compare
        # --jobs``) hands its interruption back to the parent pickled.
        return type(self), (self.signum,)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal number: 143 for SIGTERM, 130 for SIGINT and a plain KeyboardInterrupt."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def signal_name(interrupt: KeyboardInterrupt) -> str:
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name


class _Guard:
    """The handler and the deferral state it shares with :func:`deferred`."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: int | None = None

    def handle(self, signum: int, _frame) -> None:
        if self.depth:
            self.pending = signum
            return
        raise RunInterrupted(signum)


_GUARD = _Guard()
_DEFAULTS = (signal.SIG_DFL, signal.default_int_handler)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`RunInterrupted` (held while
    :func:`deferred`); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum, handler in previous.items():
        if handler in _DEFAULTS:
            signal.signal(signum, _GUARD.handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise for the one that came."""
    _GUARD.depth += 1
    try:
        yield
    except BaseException:
        # The error on its way out ends the run anyway; the held signal is spent with it.
        if _GUARD.depth == 1:
            _GUARD.pending = None
        raise
    finally:
        _GUARD.depth -= 1
    if not _GUARD.depth and _GUARD.pending is not None:
        signum, _GUARD.pending = _GUARD.pending, None
        raise RunInterrupted(signum)
