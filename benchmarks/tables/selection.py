"""Which runs a table reads: the one argument every table's ``write_report`` takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    """The runs of a sweep experiment a table reads: those of ``scale`` (``paper`` or
    ``smoke``), seeds ``0..seeds-1`` (None: the experiment's own), with the ``--set``
    ``overrides`` the sweep was launched with (``KEY=VALUE``)."""

    scale: str = "paper"
    seeds: int | None = None
    overrides: tuple[str, ...] = ()

    @classmethod
    def of(cls, scale: str, seeds: int | None = None, overrides: Sequence[str] = ()) -> Selection:
        """A selection with ``overrides`` as a tuple (``--set`` gives a list, or None)."""
        return cls(scale, seeds, tuple(overrides or ()))
