"""One builder at a time for a set made on first use, and the move that puts it in place whole.

Side-by-side runs (``compare --jobs``, ``sweep --jobs``) may all find a built-in set missing at
once; without a lock each builds it and the last to finish replaces the folder the first is
already reading. The lock is an advisory ``flock`` on a file beside the set, released when its
holder ends, however it ends; a builder re-checks for the finished set once it holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def building(folder: Path) -> Iterator[None]:
    """Hold the build lock of the set at ``folder`` (``<folder>.lock`` beside it)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def replace_whole(folder: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(staging)`` in a temporary folder beside ``folder``, then move it over
    ``folder``: an interrupted build leaves nothing half-made. Call it holding :func:`building`."""
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write(staging)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
