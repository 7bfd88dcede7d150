"""The reproduction report, ``reports/README.md``: every claim of the paper the suite checks,
beside what it measured, with a verdict (``benchmarks.tables.claims.verdict``).

The report gathers the claims of every table of ``benchmarks.tables.TABLES``, then those of
:data:`OTHER_CLAIMS` (the algorithm analysis, whose claims come from its logged runs, not from
a table): each module's ``claims(scale, seeds) -> list[Claim]`` reads its runs from the current
MLflow tracking URI, and its ``TITLE`` and ``REPRODUCE`` name its section. A module (or its
``claims``) that is not there is listed as "not built" with the command that would make it, so
the report works whichever tables exist. It writes the summary table (claim, paper, measured,
difference, verdict), one section per table (how to reproduce it, the MLflow runs, scale,
seeds, device, its figures shown inline) and ``claims.csv``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pandas as pd

from benchmarks.tables import TABLES
from benchmarks.tables.claims import SPREAD_FACTOR, Claim
from benchmarks.tables.directions import ALPHA, Direction, counts, directions_frame

OTHER_CLAIMS = {
    "robustness": "benchmarks.tables.section7",
    "analysis": "benchmarks.analysis.claims",
}
"""Claims that no table of ``TABLES`` states, name -> module with ``claims(scale, seeds)``:
Section 7's orderings (from the evaluation runs of ``comixup-bench robustness``) and the
algorithm analysis (Tables 2-4, Figure 2), read from their logged runs (this module only
reads: it runs no solver)."""


@dataclass(frozen=True)
class Source:
    """One part of the paper and the module whose ``claims`` check it."""

    title: str
    module: str
    reproduce: str
    """The commands that make its runs and table, ``{scale}`` filled in."""


def _import(module: str) -> tuple[ModuleType | None, str]:
    """The module, or None and why not (it does not exist in this checkout)."""
    try:
        return importlib.import_module(module), ""
    except ModuleNotFoundError as error:
        if error.name and module.startswith(error.name):
            return None, f"not built: `{module}` does not exist in this checkout"
        raise  # the module exists but one of its imports is missing: a bug to see


def source(name: str, module: str) -> Source:
    """The section of ``name``: its module's ``TITLE`` and ``REPRODUCE`` when it has them,
    else the name and the sweep and table commands of that name."""
    found, _ = _import(module)
    default = (
        f"comixup-bench sweep {name} --scale {{scale}}\n"
        f"comixup-bench table {name} --scale {{scale}}"
    )
    return Source(getattr(found, "TITLE", name), module, getattr(found, "REPRODUCE", default))


def all_sources() -> list[Source]:
    """Every table of ``TABLES``, in its order, then :data:`OTHER_CLAIMS`."""
    return [source(name, module) for name, module in {**TABLES, **OTHER_CLAIMS}.items()]


@dataclass
class Section:
    source: Source
    claims: list[Claim] = field(default_factory=list)
    missing: str = ""
    directions: list[Direction] = field(default_factory=list)
    """The module's ordering claims (its ``directions(scale, seeds)``, where it has one)."""
    """Why the module gave no claims ("not built": the module or its claims() is absent)."""


def claims_function(module: str) -> tuple[Callable | None, str]:
    """``module.claims``, or None and why not (the module or the function does not exist)."""
    found, missing = _import(module)
    if found is None:
        return None, missing
    if not callable(getattr(found, "claims", None)):
        return None, f"not built: `{module}` has no `claims(scale, seeds)`"
    return found.claims, ""


def gather(scale: str, seeds: int | None, sources: Sequence[Source] | None = None) -> list[Section]:
    """Every source's claims (default: :func:`all_sources`) from the current tracking URI (set
    by the caller)."""
    sections = []
    for item in all_sources() if sources is None else sources:
        function, missing = claims_function(item.module)
        found = list(function(scale, seeds)) if function else []
        ordering = getattr(_import(item.module)[0], "directions", None) if function else None
        orders = list(ordering(scale, seeds)) if callable(ordering) else []
        sections.append(Section(item, found, missing, orders))
    return sections


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.4g}"


def _with_unit(value: float | None, unit: str, spread: float | None = None) -> str:
    """``value ± spread unit``, or a dash when there is no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = _number(value, 4)
    if spread is not None and not math.isnan(spread):
        text += f" ± {_number(spread, 2)}"
    return f"{text} {unit}".strip()


def _measured(claim: Claim) -> str:
    return _with_unit(claim.measured, claim.unit, claim.spread)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (``|L|`` would split it)."""
    return text.replace("|", "\\|")


def claims_frame(sections: Sequence[Section]) -> pd.DataFrame:
    """Every claim as one row of ``claims.csv`` (numbers unformatted, lists space-joined);
    a source that is not built is one row with its reason as the verdict."""
    rows = []
    for section in sections:
        if section.missing:
            rows.append({"table": section.source.title, "verdict": section.missing})
        for claim in section.claims:
            row = asdict(claim)
            row["difference"] = claim.difference
            row["run_ids"] = " ".join(claim.run_ids)
            row["figures"] = " ".join(claim.figures)
            rows.append(row)
    columns = [
        "table", "claim", "paper", "measured", "spread", "difference", "unit", "verdict",
        "scale", "seeds", "device", "command", "run_ids", "figures",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def summary_frame(sections: Sequence[Section]) -> pd.DataFrame:
    rows = []
    for section in sections:
        if section.missing:
            rows.append(
                {"table": section.source.title.split(":")[0], "claim": "-", "paper": "-",
                 "measured": "-", "difference": "-", "verdict": section.missing.split(":")[0]}
            )  # fmt: skip
        for claim in section.claims:
            rows.append(
                {
                    "table": claim.table,
                    "claim": _cell(claim.claim),
                    "paper": _with_unit(claim.paper, claim.unit),
                    "measured": _measured(claim),
                    "difference": _number(claim.difference, 3),
                    "verdict": claim.verdict,
                }
            )
    return pd.DataFrame(rows)


def _short(run_ids: Sequence[str]) -> str:
    """Run ids as their first 8 hex digits (MLflow's search finds a run by its prefix)."""
    return " ".join(run[:8] for run in run_ids) or "-"


def directions_summary(sections: Sequence[Section]) -> pd.DataFrame:
    """Every ordering claim as one Markdown row: the claim, the pairs, both sides' means, the
    paper's side's mean lead, the test's P, the verdict and the runs."""
    rows = [
        {
            "table": d.table,
            "claim": _cell(d.claim),
            "pairs": d.pairs,
            "paper's side": _number(d.ahead_mean, 4),
            "other side": _number(d.behind_mean, 4),
            "lead": _number(d.margin, 3),
            "P": _number(d.p_value, 2),
            "verdict": f"**{d.verdict}**",
            "MLflow runs": _short(d.run_ids),
        }
        for section in sections
        for d in section.directions
    ]
    return pd.DataFrame(rows)


def counts_by_scale(sections: Sequence[Section]) -> pd.DataFrame:
    """How many claims have each verdict, by kind (ordering, number) and scale."""
    rows: dict[tuple[str, str, str], int] = {}
    for section in sections:
        for d in section.directions:
            key = ("ordering", d.scale, d.verdict)
            rows[key] = rows.get(key, 0) + 1
        for claim in section.claims:
            key = ("number", claim.scale, claim.verdict)
            rows[key] = rows.get(key, 0) + 1
    frame = pd.DataFrame(
        [(*key, count) for key, count in rows.items()],
        columns=["claim", "scale", "verdict", "claims"],
    )
    return frame.sort_values(["claim", "scale", "claims"], ascending=[False, True, False])


def _directions_text(section: Section) -> list[str]:
    lines = []
    for d in section.directions:
        lead = "-" if d.margin is None else f"{d.margin:+.3g}"
        lines += [
            f"- **{d.claim}** ({d.statistic}): *{d.verdict}*; {d.pairs} pair(s), "
            f"{d.ahead} {_number(d.ahead_mean, 4)} vs {d.behind} {_number(d.behind_mean, 4)}, "
            f"lead {lead}, {d.test} P {_number(d.p_value, 2)}.",
            f"  MLflow runs: {', '.join(f'`{r}`' for r in d.run_ids) or 'none'}. "
            f"Command: `{d.command}`",
        ]
    return [*lines, ""] if lines else []


def _section_text(section: Section, scale: str, out: Path) -> list[str]:
    source = section.source
    lines = [f"## {source.title}", ""]
    lines += ["Reproduce:", "", "```", source.reproduce.format(scale=scale), "```", ""]
    if section.missing:
        return [*lines, f"**{section.missing}.** Its claims appear here once it is.", ""]
    lines += _directions_text(section)
    if not section.claims:
        return lines if section.directions else [*lines, "No claim at this scale.", ""]
    for claim in section.claims:
        runs = ", ".join(f"`{run}`" for run in claim.run_ids) or "none"
        lines += [
            f"- **{claim.claim}** — paper {_with_unit(claim.paper, claim.unit)}, measured "
            f"{_measured(claim)}: *{claim.verdict}*.",
            f"  Scale {claim.scale}, {claim.seeds} seed(s); device: {claim.device or '-'}; "
            f"MLflow runs: {runs}.",
            f"  Command: `{claim.command}`",
        ]
    lines.append("")
    figures = dict.fromkeys(f for claim in section.claims for f in claim.figures)
    for figure in figures:
        if (out / figure).exists():
            lines += [f"![{figure}]({figure})", ""]
        else:
            lines += [f"Figure `{figure}` is not in {out} yet (run the command above).", ""]
    return lines


def ordering_text(sections: Sequence[Section], scale: str) -> list[str]:
    """The report's lead at a scale with ordering claims: their counts, rule and table."""
    found = [d for section in sections for d in section.directions]
    if not found:
        return []
    tally = "; ".join(f"{count} *{verdict}*" for verdict, count in counts(found).items())
    return [
        f"## The paper's orderings at the {scale} scale",
        "",
        f"{len(found)} ordering claims: {tally}.",
        "",
        "Each claim is an ordering the paper states (the *paper's side* beats the *other "
        "side*), tested on the runs of this scale: a paired t-test over seeds (two-sided, "
        f"`scipy.stats.ttest_rel`; the timing order: Welch's t-test over the timed batches) at "
        f"P < {ALPHA:g}. *holds*: significant, the paper's way; *reversed*: significant, the "
        "other way; *not significant*: P at or above that; *too few seeds*: fewer than two "
        "pairs; *not run at this scale*: a side has no finished run. *lead*: the paper's "
        "side's mean advantage per pair (positive: the paper's way), in the statistic's unit. "
        "Absolute numbers of this scale are never set beside the paper's "
        "(benchmarks/tables/directions.py). Every row is in "
        "[`directions.csv`](directions.csv).",
        "",
        directions_summary(sections).to_markdown(index=False),
        "",
    ]


def verdict_counts(sections: Sequence[Section]) -> str:
    tally: dict[str, int] = {}
    for section in sections:
        for claim in section.claims:
            tally[claim.verdict] = tally.get(claim.verdict, 0) + 1
    built = sum(not s.missing for s in sections)
    numbers = "; ".join(f"{count} *{name}*" for name, count in tally.items()) or "none"
    orders = counts([d for section in sections for d in section.directions])
    ordering = "; ".join(f"{count} *{name}*" for name, count in orders.items())
    lead = f"Orderings: {ordering}. " if ordering else ""
    return f"{built} of {len(sections)} tables built. {lead}Numbers: {numbers}"


def render(
    sections: Sequence[Section], *, scale: str, seeds: int | None, out: Path, tracking: str
) -> str:
    """The Markdown of ``reports/README.md``."""
    from benchmarks.environment import environment

    env = environment(["git commit", "CPU", "torch", "python"])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reproduction report: Co-Mixup (Kim et al., ICLR 2021)",
        "",
        f"Scale **{scale}**, seeds {seeds or 'as each experiment sets'}; made on {stamp} "
        f"at commit `{env['git commit']}` (torch {env['torch']}, Python {env['python']}, CPU "
        f"{env['CPU']}) from the MLflow store `{tracking}` by `comixup-bench report --scale "
        f"{scale}{f' --seeds {seeds}' if seeds else ''}`.",
        "",
        f"{verdict_counts(sections)}.",
        "",
        *ordering_text(sections, scale),
        "## Claims by verdict and scale",
        "",
        counts_by_scale(sections).to_markdown(index=False),
        "",
        "## Summary: the paper's numbers",
        "",
        "**Verdicts.** *reproduced within the seeds' spread*: at the paper's scale, the "
        f"measurement lies within {SPREAD_FACTOR:g} standard deviations (over seeds; for "
        "timing ratios, over the timed batches; for the t-test, of the statistic over repeated "
        "experiments) of the paper's number. *not reproduced*: outside that band. *not run "
        "at this scale*: no finished run, or a smoke-scale measurement, which checks the "
        "pipeline on tiny data and is never compared with the paper; *not compared*: a "
        "reduced-scale number, whose orderings are judged above instead. The paper's numbers come "
        "from `benchmarks/tables/paper_values.toml`, each with its source. Every row is also "
        "in [`claims.csv`](claims.csv).",
        "",
        summary_frame(sections).to_markdown(index=False),
        "",
    ]
    for section in sections:
        lines += _section_text(section, scale, out)
    shown = {f for s in sections for c in s.claims for f in c.figures}
    others = sorted(p.name for p in out.glob("*.png") if p.name not in shown)
    if others:
        lines += ["## Other figures", ""]
        lines += [f"![{name}]({name})\n" for name in others]
    return "\n".join(lines)


def write_report(
    out: Path, *, scale: str, seeds: int | None, sources: Sequence[Source] | None = None
) -> tuple[Path, Path]:
    """``README.md`` and ``claims.csv`` in ``out`` from the current tracking URI."""
    import mlflow

    sections = gather(scale, seeds, sources)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "claims.csv"
    claims_frame(sections).to_csv(csv, index=False)
    orders = [d for section in sections for d in section.directions]
    directions_frame(orders).to_csv(out / "directions.csv", index=False)
    readme = out / "README.md"
    text = render(sections, scale=scale, seeds=seeds, out=out, tracking=mlflow.get_tracking_uri())
    readme.write_text(text + "\n")
    return readme, csv
