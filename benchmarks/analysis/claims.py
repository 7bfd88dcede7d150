"""The algorithm analysis' claims for the reproduction report (``comixup-bench report``): Tables
2-4 and Figure 2 read from their newest logged MLflow runs (experiment ``analysis``, one run per
section with a ``table`` tag, logged by ``benchmarks.analysis.report``).

Only reads: nothing here imports a solver, so the report gathers these claims as it gathers a
table's (``claims(scale, seeds)``, with ``TITLE`` and ``REPRODUCE`` for its section).
"""

from __future__ import annotations

from benchmarks.tables.claims import NOT_RUN, Claim

EXPERIMENT = "analysis"
"""The MLflow experiment of the analysis runs, one per section."""

TITLE = "Tables 2-4 and Figure 2: the algorithm analysis"
REPRODUCE = "comixup-bench analysis  # or table2, table3, table4, figure2 one at a time"

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


def claims(scale: str, seeds: int | None) -> list[Claim]:
    """Tables 2-4 and Figure 2 from their newest logged runs (``comixup-bench analysis`` or
    ``table2`` / ``table3`` / ``table4`` / ``figure2``). These are not sweeps: ``scale`` and
    ``seeds`` are not asked for but read off each run (paper scale with the supplement's 100
    problems or trials); a section never logged is "not run"."""
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
                command=f"comixup-bench {section}",
                run_ids=(run.info.run_id,) if run else (),
                device=run.data.tags.get("cpu_model", "") if run else "",
                figures=("figure2.png",) if section == "figure2" else (),
                verdict=NOT_TRANSCRIBED if measured is not None else NOT_RUN,
            )
        )
    return found
