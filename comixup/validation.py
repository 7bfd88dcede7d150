"""Checks of hyperparameters at construction, shared by the configs (Co-Mixup, the baselines).

A config's ``__post_init__`` states a rule per field; :func:`check_fields` refuses the config
where it is built, not at the first batch (or, worse, as a NaN or an abort inside the graph
cut), naming each bad field, its value and what is allowed::

    check_fields(self, {"beta": non_negative(self.beta), "n_iter": integer(self.n_iter, 1)})

A rule returns None for a good value and the description of what is allowed otherwise.
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def non_negative(value: Any) -> str | None:
    """A finite real number >= 0."""
    return None if _real(value) and value >= 0 else "non-negative and finite"


def positive(value: Any) -> str | None:
    """A finite real number > 0."""
    return None if _real(value) and value > 0 else "positive and finite"


def in_range(value: Any, low: float, high: float) -> str | None:
    """A real number in ``[low, high]``."""
    return None if _real(value) and low <= value <= high else f"a number in [{low}, {high}]"


def integer(value: Any, low: int) -> str | None:
    """An int (not a bool) >= ``low``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    return None if ok else f"an integer >= {low}"


def flag(value: Any) -> str | None:
    """True or False."""
    return None if isinstance(value, bool) else "True or False"


def check_fields(config: Any, rules: dict[str, str | None]) -> None:
    """Raise one ValueError naming every field of ``config`` whose rule failed, its value and
    what is allowed; ``rules`` maps field names to a rule's result."""
    bad = {name: allowed for name, allowed in rules.items() if allowed is not None}
    if bad:
        values = ", ".join(f"{name}={getattr(config, name)!r}" for name in bad)
        needs = "; ".join(f"{name} must be {allowed}" for name, allowed in bad.items())
        raise ValueError(f"{type(config).__name__}: invalid value(s) {values}; {needs}.")
