"""The supplement's algorithm analysis: Tables 2-4 and Figure 2, each written to reports/ and
logged as one MLflow run (experiment ``analysis``, through ``tracking.start_run``), plus the
``analysis.md`` summary that names the machine the timings were taken on. One implementation
per part: ``comixup-bench table2``, ``table3``, ``table4`` and ``figure2`` are shortcuts of
``comixup-bench analysis``'s parts (:func:`run_table2` ... :func:`run_figure2`). The claims the
reproduction report reads from these runs are in ``benchmarks.analysis.claims``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks.analysis import figure2, table2, table3, table4
from benchmarks.analysis.claims import EXPERIMENT
from benchmarks.environment import cpu_model, environment, load_average
from benchmarks.tables.report import command_line, write_table

TIMING_CAVEAT = (
    "Timings are wall-clock on a shared machine: other jobs running at the same time (see "
    "the load averages) make them noisy; compare ratios and slopes rather than absolute times."
)


@dataclass
class Section:
    """One table or figure: what was written and the MLflow run that holds it."""

    name: str
    title: str
    frame: pd.DataFrame
    notes: str
    files: list[Path]
    run_id: str = ""
    extra: dict[str, float] = field(default_factory=dict)


SUMMARY_ENVIRONMENT = (
    "CPU",
    "logical cores",
    "torch threads",
    "BLAS/OpenMP threads",
    "python",
    "platform",
    "torch",
    "numpy",
    "gco-wrapper",
    "pandas",
    "matplotlib",
    "mlflow",
)
"""What ``analysis.md`` says the timings were taken on."""


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()


def log_section(
    section: Section,
    params: dict[str, object],
    metrics: dict[str, float],
    records: pd.DataFrame | None = None,
) -> str:
    """One MLflow run for ``section`` in experiment ``analysis``, through
    ``benchmarks.runner.tracking.start_run``: ``params``, the finite ``metrics``, the section's
    files and, when given, the per-seed ``records`` as ``<name>-records.csv``; returns its id."""
    import mlflow
    import torch

    from benchmarks.runner.tracking import environment_tags, start_run

    tags = environment_tags(torch.device("cpu"))
    tags.update({"table": section.name, "cpu_model": cpu_model(), "load": load_average()})
    with start_run(EXPERIMENT, run_name=section.name, tags=tags) as run:
        mlflow.log_params({key: str(value) for key, value in params.items()})
        finite = {key: float(value) for key, value in metrics.items() if pd.notna(value)}
        if finite:
            mlflow.log_metrics(finite)
        for path in section.files:
            mlflow.log_artifact(str(path))
        if records is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"{section.name}-records.csv"
                records.to_csv(path, index=False)
                mlflow.log_artifact(str(path))
    section.run_id = run.info.run_id
    return run.info.run_id


def check_store() -> None:
    """Fail fast, before any solving, when the tracking server does not answer (and select the
    ``analysis`` experiment)."""
    from benchmarks.runner.tracking import setup_tracking

    setup_tracking(EXPERIMENT)


def _frame_metrics(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[str, float]:
    metrics = {}
    for _, row in frame.iterrows():
        for column in columns:
            if column in row:
                metrics[f"{_slug(column)}.{_slug(key)}{row[key]}"] = row[column]
    return metrics


def run_table2(*, seeds: int, out: Path, progress: bool) -> Section:
    """Table 2 (``comixup-bench table2``), written to ``out`` and logged."""
    check_store()
    frame = table2.run(seeds=seeds, progress=progress)
    title = "Table 2: Algorithm 1 vs exact brute force and random guess"
    files = list(write_table(frame, "table2", out, title=title, notes=table2.NOTES))
    section = Section("table2", title, frame, table2.NOTES, files)
    columns = [column for column in frame.columns if column.startswith("rel. error")]
    metrics = {}
    for _, row in frame.iterrows():
        size = row["m = m'"]
        for column in columns:
            key = f"{_slug(column)}.{_slug(row['setting'])}.m{size}_grid{row['grid']}"
            metrics[key] = row[column]
    log_section(section, {"seeds": seeds, "sizes": table2.SIZES}, metrics)
    return section


def table3_section(records: pd.DataFrame, *, seeds: int, sizes, out: Path) -> Section:
    frame = table3.summarise(records)
    title = "Table 3: f of Algorithm 1, Narasimhan-Bilmes and random guess"
    files = list(write_table(frame, "table3", out, title=title, notes=table3.NOTES, floatfmt=".2f"))
    section = Section("table3", title, frame, table3.NOTES, files)
    columns = [column for column in frame.columns if column.endswith(("mean", "std"))]
    params = {"seeds": seeds, "sizes": tuple(sizes), "grid": table3.GRID, **asdict(table3.CONFIG)}
    log_section(section, params, _frame_metrics(frame, "m = m'", columns), records)
    return section


def table4_section(records: pd.DataFrame, *, seeds: int, sizes, out: Path) -> Section:
    frame = table4.summarise(records)
    title = "Table 4: convergence time (s) of Algorithm 1 and Narasimhan-Bilmes"
    notes = f"{table4.NOTES.strip()}\n\nCPU: {cpu_model()}; load average {load_average()}."
    files = list(write_table(frame, "table4", out, title=title, notes=notes, floatfmt=".4f"))
    section = Section("table4", title, frame, notes, files)
    columns = [column for column in frame.columns if column != "m = m'" and column != "seeds"]
    params = {"seeds": seeds, "sizes": tuple(sizes), "grid": table3.GRID, **asdict(table3.CONFIG)}
    log_section(section, params, _frame_metrics(frame, "m = m'", columns), records)
    return section


def run_table3(*, seeds: int, sizes, out: Path, progress: bool) -> Section:
    """Table 3 (``comixup-bench table3``), written to ``out`` and logged."""
    check_store()
    records = table3.measure(tuple(sizes), seeds, progress=progress, desc="Table 3")
    return table3_section(records, seeds=seeds, sizes=sizes, out=out)


def run_table4(*, seeds: int, sizes, out: Path, progress: bool) -> Section:
    """Table 4 (``comixup-bench table4``), written to ``out`` and logged."""
    check_store()
    records = table4.run(tuple(sizes), seeds, progress=progress)
    return table4_section(records, seeds=seeds, sizes=sizes, out=out)


def run_figure2(*, trials: int, levels, sizes, out: Path, progress: bool) -> Section:
    """Figure 2 (``comixup-bench figure2``), written to ``out`` and logged; its fitted slopes
    in ``extra``."""
    check_store()
    frame = figure2.run(trials, levels=tuple(levels), sizes=tuple(sizes), progress=progress)
    slopes = figure2.growth(frame)
    png = figure2.plot(frame, slopes, out / "figure2.png")
    notes = figure2.notes(slopes, png.name)
    title = "Figure 2: execution time of Algorithm 1 over |L| and m"
    files = [*write_table(frame, "figure2", out, title=title, notes=notes, floatfmt=".3f"), png]
    section = Section("figure2", title, frame, notes, files, extra=slopes)
    metrics = {f"slope.{_slug(panel)}": slope for panel, slope in slopes.items()}
    for _, row in frame.iterrows():
        metrics[f"mean_ms.{_slug(row['panel'])}{row['x']}"] = row["mean (ms)"]
    params = {"trials": trials, "levels": tuple(levels), "sizes": tuple(sizes)}
    params.update({"m_levels_panel": figure2.LEVELS_M, "levels_m_panel": figure2.SIZES_LEVELS})
    log_section(section, params, metrics)
    return section


def write_summary(sections: list[Section], out: Path, *, load_before: str) -> Path:
    """``analysis.md``: the environment, then every section's table and notes."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    from benchmarks.runner.tracking import tracking_uri

    lines = [
        "# Algorithm analysis (supplement Tables 2-4, Figure 2)",
        "",
        f"Made by `{command_line()}` on {stamp}.",
        "",
        "## Environment",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in environment(SUMMARY_ENVIRONMENT).items()]
    lines += [
        f"- load average (1/5/15 min) at start: {load_before}; at end: {load_average()}",
        f"- MLflow: `{tracking_uri()}`, experiment `{EXPERIMENT}`",
        "",
        TIMING_CAVEAT,
        "",
    ]
    for section in sections:
        floatfmt = ".2f" if section.name == "table3" else ".4f"
        lines += [
            f"## {section.title}",
            "",
            f"Files: {', '.join(f'`{path.name}`' for path in section.files)}; "
            f"MLflow run `{section.run_id}`.",
            "",
            section.frame.to_markdown(index=False, floatfmt=floatfmt),
            "",
            section.notes.strip(),
            "",
        ]
    path = out / "analysis.md"
    path.write_text("\n".join(lines))
    return path


def run_analysis(
    *, seeds: int, trials: int, sizes, levels, out: Path, progress: bool
) -> tuple[Path, list[Section]]:
    """Tables 2, 3, 4 and Figure 2 in one go (``comixup-bench analysis``; Tables 3 and 4 share
    their runs), each logged, and ``analysis.md``."""
    check_store()
    load_before = load_average()
    sections = [run_table2(seeds=seeds, out=out, progress=progress)]
    records = table3.measure(tuple(sizes), seeds, progress=progress)
    sections.append(table3_section(records, seeds=seeds, sizes=sizes, out=out))
    sections.append(table4_section(records, seeds=seeds, sizes=sizes, out=out))
    sections.append(
        run_figure2(trials=trials, levels=levels, sizes=sizes, out=out, progress=progress)
    )
    return write_summary(sections, out, load_before=load_before), sections
