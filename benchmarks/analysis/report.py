"""The supplement's algorithm analysis: Tables 2-4 and Figure 2, each written to reports/ and
logged as one MLflow run (experiment ``analysis``), plus the ``analysis.md`` summary that names
the machine the timings were taken on.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks.analysis import figure2, table2, table3, table4
from benchmarks.environment import cpu_model, environment, load_average
from benchmarks.tables.report import command_line, write_table

EXPERIMENT = "analysis"
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


def log_section(section: Section, params: dict[str, object], metrics: dict[str, float]) -> str:
    """One MLflow run for ``section`` in the current experiment; returns its id."""
    import mlflow
    import torch

    from benchmarks.runner.tracking import environment_tags

    with mlflow.start_run(run_name=section.name) as run:
        mlflow.log_params({key: str(value) for key, value in params.items()})
        tags = environment_tags(torch.device("cpu"))
        tags.update({"table": section.name, "cpu_model": cpu_model(), "load": load_average()})
        mlflow.set_tags(tags)
        finite = {key: float(value) for key, value in metrics.items() if pd.notna(value)}
        if finite:
            mlflow.log_metrics(finite)
        for path in section.files:
            mlflow.log_artifact(str(path))
    section.run_id = run.info.run_id
    return run.info.run_id


def _frame_metrics(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[str, float]:
    metrics = {}
    for _, row in frame.iterrows():
        for column in columns:
            if column in row:
                metrics[f"{_slug(column)}.{_slug(key)}{row[key]}"] = row[column]
    return metrics


def _log_records(section: Section, records: pd.DataFrame) -> None:
    """Attach the per-seed records to the section's run as ``records.csv``."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{section.name}-records.csv"
        records.to_csv(path, index=False)
        with mlflow.start_run(run_id=section.run_id):
            mlflow.log_artifact(str(path))


def run_table2(*, seeds: int, out: Path, progress: bool) -> Section:
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
    log_section(section, params, _frame_metrics(frame, "m = m'", columns))
    _log_records(section, records)
    return section


def table4_section(records: pd.DataFrame, *, seeds: int, sizes, out: Path) -> Section:
    frame = table4.summarise(records)
    title = "Table 4: convergence time (s) of Algorithm 1 and Narasimhan-Bilmes"
    notes = f"{table4.NOTES.strip()}\n\nCPU: {cpu_model()}; load average {load_average()}."
    files = list(write_table(frame, "table4", out, title=title, notes=notes, floatfmt=".4f"))
    section = Section("table4", title, frame, notes, files)
    columns = [column for column in frame.columns if column != "m = m'" and column != "seeds"]
    params = {"seeds": seeds, "sizes": tuple(sizes), "grid": table3.GRID, **asdict(table3.CONFIG)}
    log_section(section, params, _frame_metrics(frame, "m = m'", columns))
    _log_records(section, records)
    return section


def run_table3(*, seeds: int, sizes, out: Path, progress: bool) -> Section:
    records = table3.measure(tuple(sizes), seeds, progress=progress, desc="Table 3")
    return table3_section(records, seeds=seeds, sizes=sizes, out=out)


def run_table4(*, seeds: int, sizes, out: Path, progress: bool) -> Section:
    records = table4.run(tuple(sizes), seeds, progress=progress)
    return table4_section(records, seeds=seeds, sizes=sizes, out=out)


def run_figure2(*, trials: int, levels, sizes, out: Path, progress: bool) -> Section:
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
    """Tables 2, 3, 4 and Figure 2 in one go (Tables 3 and 4 share their runs)."""
    load_before = load_average()
    sections = [run_table2(seeds=seeds, out=out, progress=progress)]
    records = table3.measure(tuple(sizes), seeds, progress=progress)
    sections.append(table3_section(records, seeds=seeds, sizes=sizes, out=out))
    sections.append(table4_section(records, seeds=seeds, sizes=sizes, out=out))
    sections.append(
        run_figure2(trials=trials, levels=levels, sizes=sizes, out=out, progress=progress)
    )
    return write_summary(sections, out, load_before=load_before), sections


# ------------------------------------------------------- claims for the reproduction report ----

NOT_TRANSCRIBED = "measured; the paper's number is not in paper_values.toml yet"
"""The verdict of an analysis claim that was measured: the supplement's Tables 2-4 and Figure 2
values have not been transcribed (with their source) into ``paper_values.toml``, so nothing is
compared; add them there to get a verdict."""

SUPPLEMENT_SEEDS = 100
"""Problems per size (trials per point for Figure 2) in the supplement: a logged run with as
many is at the paper's scale, one with fewer a smoke run."""


def _ratio(numerator: str, denominator: str):
    def measured(metrics: dict[str, float]) -> float | None:
        if numerator in metrics and denominator in metrics and metrics[denominator]:
            return metrics[numerator] / metrics[denominator]
        return None

    return measured


def _metric(key: str):
    return lambda metrics: metrics.get(key)


ANALYSIS_CLAIMS = (
    ("table2", "Table 2", "relative error of Algorithm 1 to brute force, normalised costs, "
     "m = 3, 2x2 grid", "", _metric("rel_error_algorithm_1.normalised.m3_grid2x2")),
    ("table2", "Table 2", "relative error of Algorithm 1 to brute force, un-normalised costs, "
     "m = 3, 2x2 grid", "", _metric("rel_error_algorithm_1.un_normalised.m3_grid2x2")),
    ("table3", "Table 3", "f of Algorithm 1 / f of Narasimhan-Bilmes, m = 20", "x",
     _ratio("algorithm_1_mean.m_m20", "narasimhan_bilmes_mean.m_m20")),
    ("table4", "Table 4", "convergence time, Narasimhan-Bilmes / Algorithm 1, m = 20", "x",
     _metric("nb_alg_1_time.m_m20")),
    ("figure2", "Figure 2", "growth of Algorithm 1's time over |L| (log-log slope)", "slope",
     _metric("slope.levels")),
    ("figure2", "Figure 2", "growth of Algorithm 1's time over m (log-log slope)", "slope",
     _metric("slope.m")),
)  # fmt: skip
"""(section, where in the paper, what, unit, metrics -> measured value)."""


LOGGED_BY = {"table2": "comixup-bench analysis"}
"""Sections whose own command writes reports/ only: ``analysis`` is what logs them."""


def latest_sections() -> dict[str, object]:
    """The newest finished MLflow run of each section (``table`` tag) in experiment
    ``analysis`` of the current tracking URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return {}
    found: dict[str, object] = {}
    for run in client.search_runs(
        [experiment.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
    ):
        found.setdefault(run.data.tags.get("table", ""), run)
    return found


def claims(scale: str, seeds: int | None) -> list:
    """Tables 2-4 and Figure 2 from their newest logged runs (``comixup-bench analysis`` or
    ``table2`` / ``table3`` / ``table4`` / ``figure2``). These are not sweeps: ``scale`` and
    ``seeds`` are not asked for but read off each run (paper scale with the supplement's 100
    problems or trials); a section never logged is "not run"."""
    from benchmarks.tables.claims import NOT_RUN, Claim

    del seeds
    runs = latest_sections()
    found = []
    for section, where, what, unit, read in ANALYSIS_CLAIMS:
        run = runs.get(section)
        metrics = dict(run.data.metrics) if run else {}
        count = int(run.data.params.get("seeds", run.data.params.get("trials", 0))) if run else 0
        measured = read(metrics)
        found.append(
            Claim(
                table=where,
                claim=what,
                paper=None,
                measured=measured,
                unit=unit,
                scale="paper" if count >= SUPPLEMENT_SEEDS else ("smoke" if run else scale),
                seeds=count,
                command=LOGGED_BY.get(section, f"comixup-bench {section}"),
                run_ids=(run.info.run_id,) if run else (),
                device=run.data.tags.get("cpu_model", "") if run else "",
                figures=("figure2.png",) if section == "figure2" else (),
                verdict=NOT_TRANSCRIBED if measured is not None else NOT_RUN,
            )
        )
    return found
