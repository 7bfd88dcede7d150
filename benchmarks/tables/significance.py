"""Paired tests over seeds: the paper's Section 6.5 (Puzzle Mix against Co-Mixup, 10 seeds,
"T 2.28, P 0.02"), and, beyond the paper, every pair of methods in a setting with Holm's
correction and the seeds a paired test would need to detect the observed difference.

Runs pair by seed: the same seed gives both methods the same initialisation and data order, so
the per-seed difference removes that shared noise (``scipy.stats.ttest_rel``). The difference
is ``first - second`` in top-1 error points: positive when the second method errs less.
Writes reports/significance.{md,csv} and significance-pairs.csv (``comixup-bench table
significance``, or its shortcut ``comixup-bench ttest``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.tables.claims import Claim
from benchmarks.tables.paper import published
from benchmarks.tables.selection import Selection

TITLE = "Section 6.5: paired t-test, Puzzle Mix against Co-Mixup"
REPRODUCE = "comixup-bench sweep significance --scale {scale}\ncomixup-bench ttest --scale {scale}"

_PAPER = published("significance")
PAPER_T: float = _PAPER["T"]
PAPER_P: float = _PAPER["P"]
PAPER_SEEDS: int = _PAPER["seeds"]
"""Section 6.5: paired t-test over 10 seeds, Puzzle Mix against Co-Mixup (paper_values.toml)."""

POWER = 0.8
ALPHA = 0.05


def paired(runs: pd.DataFrame, setting: str, first: str, second: str) -> pd.DataFrame:
    """Seed -> (first, second) median-of-last-10 errors, for the seeds both methods finished."""
    cell = runs[runs["setting"] == setting]
    table = cell.pivot_table(index="seed", columns="method", values="median10", aggfunc="last")
    if first not in table or second not in table:
        return pd.DataFrame(columns=[first, second])
    return table[[first, second]].dropna()


def paired_test(first: np.ndarray, second: np.ndarray) -> dict[str, float]:
    """Paired t-test of ``first - second`` (two-sided, and one-sided for a positive mean
    difference), its 95% confidence interval, a Wilcoxon signed-rank test beside it, and the
    seeds needed for 80% power; NaN where the pairs cannot say (fewer than 2, no spread)."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    diff = first - second
    n = len(diff)
    out = {"pairs": n, "mean difference": diff.mean() if n else math.nan}
    nan = dict.fromkeys(
        ("T", "dof", "P two-sided", "P one-sided", "CI low", "CI high", "Wilcoxon W",
         "Wilcoxon P", "seeds for 80% power"),
        math.nan,
    )  # fmt: skip
    if n < 2 or np.all(diff == diff[0]):
        return out | nan
    test = stats.ttest_rel(first, second)
    interval = test.confidence_interval(0.95)
    out |= {
        "T": float(test.statistic),
        "dof": float(test.df),
        "P two-sided": float(test.pvalue),
        "P one-sided": float(stats.ttest_rel(first, second, alternative="greater").pvalue),
        "CI low": float(interval.low),
        "CI high": float(interval.high),
    }
    try:
        wilcoxon = stats.wilcoxon(diff)
        out |= {"Wilcoxon W": float(wilcoxon.statistic), "Wilcoxon P": float(wilcoxon.pvalue)}
    except ValueError:  # every difference zero
        out |= {"Wilcoxon W": math.nan, "Wilcoxon P": math.nan}
    out["seeds for 80% power"] = seeds_for_power(diff.mean() / diff.std(ddof=1))
    return out


def paired_power(effect: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test with ``n`` pairs against the standardised mean
    difference ``effect`` (mean / std of the differences): exact, from the noncentral t."""
    dof = n - 1
    critical = stats.t.ppf(1 - alpha / 2, dof)
    shift = effect * math.sqrt(n)
    return float(stats.nct.sf(critical, dof, shift) + stats.nct.cdf(-critical, dof, shift))


def seeds_for_power(
    effect: float, power: float = POWER, alpha: float = ALPHA, most: int = 100_000
) -> float:
    """The fewest pairs (at least 2) whose two-sided paired t-test reaches ``power`` against
    ``effect``; NaN for no effect or beyond ``most``."""
    if not math.isfinite(effect) or effect == 0:
        return math.nan
    low, high = 2, 2
    while paired_power(effect, high, alpha) < power:  # doubling, then bisection
        if high >= most:
            return math.nan
        low, high = high, min(2 * high, most)
    while low < high:
        middle = (low + high) // 2
        if paired_power(effect, middle, alpha) >= power:
            high = middle
        else:
            low = middle + 1
    return float(high)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted P values (family-wise error), NaN left out of the family."""
    values = np.asarray(pvalues, float)
    adjusted = np.full(len(values), math.nan)
    finite = np.flatnonzero(np.isfinite(values))
    family = len(finite)
    running = 0.0
    for rank, index in enumerate(finite[np.argsort(values[finite], kind="stable")]):
        running = max(running, min(1.0, (family - rank) * values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def paper_row() -> dict[str, float | str]:
    """The paper's two numbers and what they imply under each reading of its P: T 2.28 with 9
    degrees of freedom is P 0.024 one-sided and 0.049 two-sided, so its P 0.02 is one-sided."""
    dof = PAPER_SEEDS - 1
    return {
        "source": "paper, Section 6.5 (as stated)",
        "pairs": PAPER_SEEDS,
        "T": PAPER_T,
        "dof": dof,
        "P two-sided": float(2 * stats.t.sf(PAPER_T, dof)),
        "P one-sided": float(stats.t.sf(PAPER_T, dof)),
    }


def significance_frame(runs: pd.DataFrame, setting: str, first: str, second: str) -> pd.DataFrame:
    """The paper's row and ours, side by side."""
    pairs = paired(runs, setting, first, second)
    ours = {
        "source": f"this suite, {setting}",
        f"{first} mean": pairs[first].mean() if len(pairs) else math.nan,
        f"{second} mean": pairs[second].mean() if len(pairs) else math.nan,
        **paired_test(pairs[first].to_numpy(), pairs[second].to_numpy()),
    }
    return pd.DataFrame([paper_row(), ours])


def all_pairs(runs: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Every pair of ``methods`` in every setting of ``runs``, Holm-adjusted within each
    setting (the family a reader scans at once)."""
    rows = []
    for setting in sorted(runs["setting"].unique()):
        family = []
        for first, second in itertools.combinations(methods, 2):
            pairs = paired(runs, setting, first, second)
            test = paired_test(pairs[first].to_numpy(), pairs[second].to_numpy())
            family.append({"setting": setting, "first": first, "second": second, **test})
        for row, adjusted in zip(family, holm([r["P two-sided"] for r in family]), strict=True):
            row["P two-sided, Holm"] = adjusted
        rows.extend(family)
    return pd.DataFrame(rows)


def t_spread(t: float, pairs: int) -> float:
    """Standard deviation of a paired t statistic over repeated experiments of ``pairs``
    seeds whose true standardised effect gives ``t``: that of the noncentral t with
    ``pairs - 1`` degrees of freedom and noncentrality ``t`` (about 1 for 10 pairs)."""
    if pairs < 4 or not math.isfinite(t):
        return math.nan  # the noncentral t has no variance below 3 degrees of freedom
    return float(stats.nct.std(pairs - 1, t))


NOTES = (
    "Paired by seed: difference = {first} - {second}, median of the last 10 epochs' top-1 "
    "error in points (positive: {second} errs less). T, dof and P from scipy.stats.ttest_rel; "
    "P one-sided tests a positive difference; the 95% CI is that of the mean difference; "
    "Wilcoxon: scipy.stats.wilcoxon, two-sided. The paper states only T 2.28 and P 0.02 (10 "
    "seeds, 9 dof); the paper row's P values are computed here from its T: its P 0.02 matches "
    "the one-sided test, not the two-sided one.",
    "Seeds for 80% power: the fewest pairs for which a two-sided paired t-test at 0.05 detects "
    "the observed standardised difference (mean / std of the differences) with probability "
    "0.8, from the noncentral t distribution (scipy.stats.nct), exact, not the normal "
    "approximation.",
)
"""The notes under the table, ``{first}`` and ``{second}`` filled in."""


def write_report(selection: Selection, out: Path) -> Path:
    """reports/significance.{md,csv} from the ``significance`` sweep's runs of ``selection``,
    and, from the ``main`` sweep's, every pair of methods per setting (Holm's correction) in
    significance-pairs.csv and under the table; the Markdown's path."""
    from benchmarks.sweep.experiments import MAIN_METHODS, expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.report import scale_note, write_table
    from benchmarks.tables.sweep_runs import finished, missing_note

    def states_of(name: str) -> list:
        return run_states(
            expand(
                name, scale=selection.scale, seeds=selection.seeds, overrides=selection.overrides
            )
        )

    experiment = get_experiment("significance")
    states = states_of("significance")
    runs, main_runs = finished(states), finished(states_of("main"))
    first, second = experiment.methods
    setting = runs["setting"].iloc[0] if len(runs) else "-"
    notes = [
        *(note.format(first=first, second=second) for note in NOTES),
        scale_note(selection.scale),
        missing_note(states),
    ]
    md, _ = write_table(
        significance_frame(runs, setting, first, second),
        "significance",
        out,
        title=f"{experiment.title}, {selection.scale} scale",
        notes="\n\n".join(n for n in notes if n),
        floatfmt=".4g",
    )
    if not len(main_runs):
        md.write_text(
            md.read_text() + "\nNo finished run of the `main` experiment at this scale: "
            "the all-pairs section (Holm's correction) appears once "
            f"`comixup-bench sweep main --scale {selection.scale}` has run.\n"
        )
        return md
    pairs = all_pairs(main_runs, MAIN_METHODS)
    pairs_csv = out / "significance-pairs.csv"
    pairs.to_csv(pairs_csv, index=False)
    md.write_text(
        md.read_text()
        + "\n## Beyond the paper: every pair of methods per setting of the main table\n\n"
        "Paired t-test per pair (difference = first - second), P adjusted with Holm's "
        "step-down method within each setting; seeds for 80% power as above. Also in "
        f"`{pairs_csv.name}`.\n\n" + pairs.to_markdown(index=False, floatfmt=".4g") + "\n"
    )
    return md


def claims(scale: str, seeds: int | None) -> list[Claim]:
    """Section 6.5's T 2.28 and one-sided P 0.02 beside the paired test of the
    ``significance`` sweep's runs at ``scale``. Their spread is that of the statistic over
    repeated experiments of as many seeds (:func:`t_spread`; for P, half the P range that
    T +- one spread spans)."""
    from benchmarks.sweep.experiments import EXPERIMENTS, expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.sweep_runs import devices, finished

    experiment = EXPERIMENTS["significance"]
    first, second = experiment.methods
    runs = finished(run_states(expand("significance", scale=scale, seeds=seeds)))
    settings = experiment.settings_at(scale)
    setting = settings[0].name
    pairs = paired(runs, setting, first, second)
    test = paired_test(pairs[first].to_numpy(), pairs[second].to_numpy())
    t, n = test.get("T", math.nan), len(pairs)
    spread = t_spread(t, n)
    dof = n - 1
    p_spread = (
        abs(stats.t.sf(t - spread, dof) - stats.t.sf(t + spread, dof)) / 2
        if math.isfinite(spread)
        else math.nan
    )
    option = f" --seeds {seeds}" if seeds else ""
    common = {
        "table": "Section 6.5",
        "scale": scale,
        "seeds": n,
        "command": f"comixup-bench sweep significance --scale {scale}{option} && "
        f"comixup-bench ttest --scale {scale}{option}",
        "run_ids": tuple(runs["run_id"]),
        "device": devices(tuple(runs["run_id"])) if len(runs) else "",
    }

    def number(value: float) -> float | None:
        return float(value) if math.isfinite(value) else None

    def spread_or_none(value: float) -> float | None:
        return float(value) if math.isfinite(value) else None

    return [
        Claim(
            claim=f"paired t-test T, {first} - {second} ({setting})",
            paper=PAPER_T,
            measured=number(t),
            unit="T",
            spread=spread_or_none(spread),
            **common,
        ),
        Claim(
            claim=f"paired t-test P, one-sided ({setting})",
            paper=PAPER_P,
            measured=number(test.get("P one-sided", math.nan)),
            unit="P",
            spread=spread_or_none(p_spread),
            **common,
        ),
    ]


def directions(scale: str, seeds: int | None) -> list:
    """Section 6.5's sign and significance at ``scale``: Co-Mixup errs less than Puzzle Mix
    over the ``significance`` sweep's seeds, judged by the shared rule (two-sided paired
    t-test at 0.05; the paper's P 0.02 is one-sided, its T 2.28 over 10 seeds)."""
    from benchmarks.sweep.experiments import EXPERIMENTS, expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.main_table import MEDIAN10
    from benchmarks.tables.sweep_runs import finished

    experiment = EXPERIMENTS["significance"]
    first, second = experiment.methods
    runs = finished(run_states(expand("significance", scale=scale, seeds=seeds)))
    option = f" --seeds {seeds}" if seeds else ""
    return [
        direction(
            "Section 6.5",
            f"the paired t-test's sign: {first} - {second} > 0, significant ({setting.name})",
            (second, *by_seed(runs, "median10", setting=setting.name, method=second)),
            (first, *by_seed(runs, "median10", setting=setting.name, method=first)),
            statistic=MEDIAN10,
            scale=scale,
            command=f"comixup-bench sweep significance --scale {scale}{option}",
        )
        for setting in experiment.settings_at(scale)
    ]
