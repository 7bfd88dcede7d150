"""A claim of the paper about an ordering or a sign, and its verdict from the runs.

Absolute numbers on the offline sets cannot be set beside CIFAR-100's, but the paper's
orderings can be tested on them: "Co-Mixup errs less than Puzzle Mix", "Co-Mixup's ECE is the
lowest", "m = 20 beats m = 2". A :class:`Direction` states one such ordering (the side the
paper puts ahead, and the other), and :func:`paired_verdict` judges it with the one rule every
table shares, a paired test over seeds:

- the two sides pair by seed (the same seed gives both the same initialisation and data order);
- ``scipy.stats.ttest_rel`` tests the per-seed differences, two-sided, at :data:`ALPHA`;
- *holds*: significant and in the paper's direction; *reversed*: significant and the other
  way; *not significant*: P >= :data:`ALPHA`; *too few seeds*: fewer than :data:`MIN_PAIRS`
  pairs (a paired t-test needs two); *not run at this scale*: a side has no finished run;
- where every pair has the same lead the t statistic is undefined, and :func:`judge` takes
  the exact sign-flip test's P instead (``2 / 2**n``), so equal leads need 6 pairs to count.

Where there are no seeds (a timing run times every method once, over many batches), the test
is Welch's t-test over the timed batches, from their summary (``ttest_ind_from_stats``); the
test's name says which was used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOLDS = "holds"
REVERSED = "reversed"
NOT_SIGNIFICANT = "not significant"
TOO_FEW_SEEDS = "too few seeds"
NOT_RUN = "not run at this scale"
VERDICTS = (HOLDS, REVERSED, NOT_SIGNIFICANT, TOO_FEW_SEEDS, NOT_RUN)

ALPHA = 0.05
"""Two-sided significance level of every direction test (no correction across claims: each
claim is read on its own, and the P is shown for whoever wants one)."""

MIN_PAIRS = 2
"""The fewest paired seeds a paired t-test is defined for (one degree of freedom)."""

PAIRED_TEST = "paired t-test over seeds (two-sided)"
WELCH_TEST = "Welch's t-test over timed batches (two-sided)"


@dataclass(frozen=True)
class Direction:
    """One ordering claim at one scale with its measurement and verdict."""

    table: str
    """Where the paper states it: "Table 1", "Section 6.5"."""
    claim: str
    """The ordering in words: "Co-Mixup errs less than Puzzle Mix, boxed-digits"."""
    ahead: str
    """The side the paper puts ahead (lower error, lower ECE, higher localisation, slower)."""
    behind: str
    statistic: str
    """What is compared, with its unit: "top-1 error %, median of the last 10 epochs"."""
    scale: str
    verdict: str
    pairs: int = 0
    ahead_mean: float | None = None
    behind_mean: float | None = None
    margin: float | None = None
    """Mean per-pair lead of ``ahead`` in the claim's sense (positive: the paper's way)."""
    test: str = PAIRED_TEST
    p_value: float | None = None
    run_ids: tuple[str, ...] = ()
    command: str = ""


def judge(margins: Sequence[float]) -> tuple[str, float | None]:
    """(verdict, P) of per-pair leads in the claim's sense (positive: the paper's way), by a
    two-sided one-sample t-test of their mean against 0 (the paired t-test of the two sides)."""
    from scipy import stats

    leads = np.asarray(margins, dtype=float)
    if len(leads) < MIN_PAIRS:
        return TOO_FEW_SEEDS, None
    if np.all(leads == leads[0]):
        if leads[0] == 0:
            return NOT_SIGNIFICANT, 1.0
        # No spread leaves t undefined (infinite), and on a small test set equal leads are
        # often the grid of the metric (80 clips: 1.25-point steps), not certainty. The exact
        # sign-flip test asks the same question without a spread: all n leads on one side has
        # two-sided P = 2 / 2**n under a null symmetric about 0 (2 pairs: 0.5; 6 pairs: 0.03).
        p_value = min(1.0, 2.0 ** (1 - len(leads)))
        return _verdict(float(leads[0]), p_value), p_value
    p_value = float(stats.ttest_1samp(leads, 0.0).pvalue)
    return _verdict(float(leads.mean()), p_value), p_value


def _verdict(lead: float, p_value: float) -> str:
    if p_value >= ALPHA:
        return NOT_SIGNIFICANT
    return HOLDS if lead > 0 else REVERSED


def paired_verdict(
    ahead: Mapping[int, float], behind: Mapping[int, float], *, lower_is_better: bool
) -> dict:
    """The verdict of "``ahead`` beats ``behind``" from seed -> value maps, paired on the seeds
    both have: ``verdict``, ``pairs``, both sides' means over those seeds, the mean ``margin``
    (positive: the paper's way) and the two-sided paired t-test's ``p_value``."""
    seeds = sorted(set(ahead) & set(behind))
    if not ahead or not behind:
        return {"verdict": NOT_RUN, "pairs": len(seeds)}
    a = np.array([ahead[s] for s in seeds], dtype=float)
    b = np.array([behind[s] for s in seeds], dtype=float)
    leads = (b - a) if lower_is_better else (a - b)
    verdict, p_value = judge(leads)
    return {
        "verdict": verdict,
        "pairs": len(seeds),
        "ahead_mean": float(a.mean()) if len(a) else None,
        "behind_mean": float(b.mean()) if len(b) else None,
        "margin": float(leads.mean()) if len(leads) else None,
        "p_value": p_value,
    }


def welch_verdict(
    ahead: tuple[float, float, int], behind: tuple[float, float, int], *, lower_is_better: bool
) -> dict:
    """The verdict of "``ahead`` beats ``behind``" from each side's (mean, std, count) over
    independent samples (timed batches): Welch's t-test, two-sided."""
    from scipy import stats

    (m1, s1, n1), (m2, s2, n2) = ahead, behind
    if min(n1, n2) < MIN_PAIRS or any(math.isnan(v) for v in (m1, s1, m2, s2)):
        return {"verdict": TOO_FEW_SEEDS if n1 and n2 else NOT_RUN, "pairs": min(n1, n2)}
    lead = (m2 - m1) if lower_is_better else (m1 - m2)
    test = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False)
    p_value = float(test.pvalue) if not math.isnan(test.pvalue) else (0.0 if lead else 1.0)
    return {
        "verdict": _verdict(lead, p_value),
        "pairs": min(n1, n2),
        "ahead_mean": m1,
        "behind_mean": m2,
        "margin": lead,
        "p_value": p_value,
        "test": WELCH_TEST,
    }


def by_seed(tidy: pd.DataFrame, statistic: str, **where: str) -> tuple[dict[int, float], tuple]:
    """(seed -> ``statistic`` of the rows matching ``where``, their run ids) of a tidy frame with
    ``seed`` and ``run_id`` columns; rows whose value is missing are left out."""
    mask = pd.Series(True, index=tidy.index)
    for key, value in where.items():
        mask &= tidy[key] == value
    rows = tidy[mask].dropna(subset=[statistic]).sort_values("seed")
    pairs = zip(rows["seed"], rows[statistic], strict=True)
    values = {int(seed): float(value) for seed, value in pairs}
    return values, tuple(rows["run_id"])


def direction(
    table: str,
    claim: str,
    ahead: tuple[str, Mapping[int, float], Sequence[str]],
    behind: tuple[str, Mapping[int, float], Sequence[str]],
    *,
    statistic: str,
    scale: str,
    lower_is_better: bool = True,
    command: str = "",
) -> Direction:
    """The :class:`Direction` "``ahead`` beats ``behind``", each side (name, seed -> value, run
    ids), judged by :func:`paired_verdict`."""
    found = paired_verdict(ahead[1], behind[1], lower_is_better=lower_is_better)
    return Direction(
        table=table,
        claim=claim,
        ahead=ahead[0],
        behind=behind[0],
        statistic=statistic,
        scale=scale,
        run_ids=tuple(dict.fromkeys((*ahead[2], *behind[2]))),
        command=command,
        **found,
    )


def directions_frame(found: Sequence[Direction]) -> pd.DataFrame:
    """Every direction as one row, numbers unformatted (``directions.csv``)."""
    from dataclasses import asdict

    rows = [asdict(d) | {"run_ids": " ".join(d.run_ids)} for d in found]
    columns = list(Direction.__dataclass_fields__)
    return pd.DataFrame(rows, columns=columns)


def counts(found: Sequence[Direction]) -> dict[str, int]:
    """Verdict -> how many of ``found`` have it, in :data:`VERDICTS` order, zeros left out."""
    tally = {verdict: sum(d.verdict == verdict for d in found) for verdict in VERDICTS}
    return {verdict: count for verdict, count in tally.items() if count}
