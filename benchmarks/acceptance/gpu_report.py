"""The outcome of an acceptance run and its two files, ``gpu-check.md`` and ``gpu-check.json``.

Every check ends as one :class:`Outcome`: ``pass``, ``fail`` or ``not run`` with the reason
(``not run (no CUDA)``, ``not run (budget)``, ...) and its figures. The run passes, and the
command exits 0, only when no check that ran failed; a check that did not run is reported as
such, never as a pass. The files are rewritten after every check (``finished`` false until
the last), so a run killed half-way still leaves what it measured.

The JSON file (``SCHEMA`` 1) holds ``schema``, ``finished``, ``passed``, ``exit_status``,
``elapsed_s``, ``settings``, ``environment``, ``mlflow_run`` and ``checks``: one object per
check with ``name``, ``title``, ``status``, ``reason``, ``seconds`` and ``figures``. A figure
is a number, a string or a table (a list of rows, each a mapping of column to value); a
non-finite number is written as null (JSON has no NaN).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
STATUSES = (PASS, FAIL, NOT_RUN)
SCHEMA = 1
"""The layout version of ``gpu-check.json``; a change of its keys raises it."""
STEM = "gpu-check"
"""The report's file name without suffix."""


@dataclass
class Outcome:
    """How one check ended."""

    name: str
    title: str
    status: str
    reason: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES and not self.status.startswith(f"{NOT_RUN} ("):
            raise ValueError(
                f"status must be {PASS!r}, {FAIL!r} or {NOT_RUN!r} (with its cause in "
                f"brackets), got {self.status!r}"
            )


@dataclass
class Report:
    """Every check's outcome, the settings and the environment they were measured in."""

    settings: dict[str, Any]
    environment: dict[str, str]
    outcomes: list[Outcome]
    elapsed_s: float = 0.0
    finished: bool = False
    mlflow_run: str = ""

    @property
    def passed(self) -> bool:
        """No check that ran failed (checks not run neither pass nor fail the run)."""
        return not any(outcome.status == FAIL for outcome in self.outcomes)

    @property
    def exit_status(self) -> int:
        return 0 if self.passed else 1


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: non-finite floats as None, tuples as lists, numpy
    scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(report: Report) -> dict[str, Any]:
    """The report as the JSON object described in the module docstring."""
    return _plain(
        {
            "schema": SCHEMA,
            "finished": report.finished,
            "passed": report.passed,
            "exit_status": report.exit_status,
            "elapsed_s": round(report.elapsed_s, 1),
            "settings": report.settings,
            "environment": report.environment,
            "mlflow_run": report.mlflow_run,
            "checks": [asdict(outcome) for outcome in report.outcomes],
        }
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def _figures(outcome: Outcome) -> list[str]:
    lines = [f"### {outcome.title} (`{outcome.name}`)", ""]
    scalars = {k: v for k, v in outcome.figures.items() if not _is_table(v)}
    lines += [f"- {key}: {_cell(value)}" for key, value in scalars.items()]
    for key, value in outcome.figures.items():
        if _is_table(value):
            lines += [*([""] if lines[-1] else []), f"{key}:", "", *_table(value)]
    return [*lines, ""]


def to_markdown(report: Report) -> str:
    """The report for a reader: settings, environment, one line per check, then the figures."""
    verdict = "passed" if report.passed else "FAILED"
    state = "" if report.finished else " (unfinished: the run stopped before its last check)"
    settings = ", ".join(f"{key} {value}" for key, value in report.settings.items())
    lines = [
        "# GPU acceptance check",
        "",
        f"Made by `comixup-bench gpu-check` ({settings}) in {report.elapsed_s:.0f} s: "
        f"{verdict}, exit status {report.exit_status}{state}. A check that did not run says "
        "why; it is never counted as a pass.",
        "",
        *(
            ["Tiny mode: the figures show that the code runs, not how fast it is.", ""]
            if report.settings.get("tiny")
            else []
        ),
        "## Environment",
        "",
        *(f"- {key}: {value}" for key, value in report.environment.items()),
        "",
        "## Checks",
        "",
        *(
            f"- **{o.status}** `{o.name}` ({o.seconds:.1f} s): {o.title}. {o.reason}".rstrip()
            for o in report.outcomes
        ),
        "",
    ]
    if report.mlflow_run:
        lines += [f"MLflow run of this check: {report.mlflow_run} (experiment `gpu-check`).", ""]
    with_figures = [o for o in report.outcomes if o.figures]
    if with_figures:
        lines += ["## Figures", ""]
        for outcome in with_figures:
            lines += _figures(outcome)
    return "\n".join(lines).rstrip() + "\n"


def write(report: Report, out: Path) -> tuple[Path, Path]:
    """Write ``<out>/gpu-check.md`` and ``.json`` (each through a temporary file, so a kill
    leaves the previous version whole); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = out / f"{STEM}.md", out / f"{STEM}.json"
    texts = to_markdown(report), json.dumps(to_json(report), indent=2, allow_nan=False) + "\n"
    for path, text in zip(paths, texts, strict=True):
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(text)
        partial.replace(path)
    return paths
