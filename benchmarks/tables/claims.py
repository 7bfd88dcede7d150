"""One claim of the paper beside the suite's measurement, for the reproduction report
(``comixup-bench report``).

Every table module that the report covers exposes ``claims(...) -> list[Claim]`` built from its
runs: the paper's number (from ``paper_values.toml``), the measured one with its spread over
seeds, how it was measured (command, scale, seeds, device, MLflow runs) and a verdict from
:func:`verdict`, the one rule every table shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REPRODUCED = "reproduced within the seeds' spread"
NOT_REPRODUCED = "not reproduced"
NOT_RUN = "not run at this scale"
NO_PAPER_VALUE = "measured (the paper states no number)"
NOT_COMPARED = "not compared: an absolute number at the reduced scale"

SPREAD_FACTOR = 2.0
"""A measurement reproduces the paper's number when they differ by at most this many standard
deviations over seeds (about a 95% band); with one seed there is no spread to judge by."""


@dataclass(frozen=True)
class Claim:
    table: str
    """Where the paper states it: "Table 6", "Section 6.5", "Figure 2"."""
    claim: str
    """What is compared, in words: "ECE of Co-Mixup, CIFAR-100"."""
    paper: float | None
    measured: float | None
    unit: str
    scale: str
    """"paper", "reduced" or "smoke" (``--scale`` of the sweep behind the measurement)."""
    seeds: int = 0
    spread: float | None = None
    """Standard deviation of the measurement over seeds (None with fewer than two)."""
    command: str = ""
    run_ids: tuple[str, ...] = ()
    device: str = ""
    figures: tuple[str, ...] = ()
    """PNG files (relative to ``reports/``) that show this claim."""
    verdict: str = field(default="")

    def __post_init__(self) -> None:
        if not self.verdict:
            object.__setattr__(self, "verdict", verdict(self))

    @property
    def difference(self) -> float | None:
        if self.paper is None or self.measured is None:
            return None
        return self.measured - self.paper


def verdict(claim: Claim) -> str:
    """The shared rule: a smoke- or reduced-scale number is never compared with the paper's
    (different data and schedule; at reduced scale the orderings are judged instead, by
    ``benchmarks.tables.directions``); at the paper's scale the difference must lie within
    :data:`SPREAD_FACTOR` standard deviations over seeds."""
    if claim.measured is None or (isinstance(claim.measured, float) and math.isnan(claim.measured)):
        return NOT_RUN
    if claim.paper is None:
        return NO_PAPER_VALUE
    if claim.scale == "reduced":
        return NOT_COMPARED  # its orderings are judged instead (benchmarks.tables.directions)
    if claim.scale != "paper":
        return NOT_RUN
    if claim.spread is None or math.isnan(claim.spread):
        return NOT_REPRODUCED if claim.difference else REPRODUCED
    return REPRODUCED if abs(claim.difference) <= SPREAD_FACTOR * claim.spread else NOT_REPRODUCED
