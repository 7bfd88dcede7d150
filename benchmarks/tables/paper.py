"""The paper's published numbers, read from ``paper_values.toml`` (one data file, each table
with its source). Tables use them only for the paper's column."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

VALUES = Path(__file__).with_name("paper_values.toml")


@cache
def _all() -> dict[str, Any]:
    with VALUES.open("rb") as handle:
        return tomllib.load(handle)


def published(table: str) -> dict[str, Any]:
    """The paper's values for ``table`` (``main``, ``significance``, ``table5`` ... ``timing``),
    with its ``source``."""
    values = _all()
    if table not in values:
        raise KeyError(f"no published values for {table!r}; known: {', '.join(sorted(values))}")
    return values[table]


def by_method(table: str, row: str) -> dict[str, float]:
    """One row of a table given as a list in the table's ``methods`` order, by method."""
    entry = published(table)
    return dict(zip(entry["methods"], entry[row], strict=True))
