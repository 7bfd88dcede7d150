"""Section 7's orderings from the evaluation runs: Co-Mixup errs less than each baseline on the
background-corrupted sets (replacement, Gaussian noise) and localises better with CAM on the
clean set, paired over the main sweep's seeds.

The evaluation runs are those ``comixup-bench robustness`` logs into the MLflow experiment
``robustness``, one per trained run, linked by the tag ``evaluates``; this module only reads
them (the evaluation itself is ``benchmarks.evaluation``). A trained run evaluated twice counts
with its newest evaluation.
"""

from __future__ import annotations

import pandas as pd

TITLE = "Section 7: robustness to background corruption and localisation"
REPRODUCE = "comixup-bench sweep main --scale {scale}\ncomixup-bench robustness --scale {scale}"

ORDERINGS = (
    ("replacement_top1_error", "errs less on the background-replaced set", True),
    ("noise_top1_error", "errs less on the background-noise set", True),
    ("clean_loc_top1_accuracy", "localises better (CAM localisation top-1 accuracy)", False),
)
"""(evaluation metric, the claim in words, lower is better)."""

EVALUATES = "evaluates"
EXPERIMENT = "robustness"


def evaluations(trained: pd.DataFrame, client=None) -> pd.DataFrame:
    """The ``trained`` runs (tidy: setting, method, seed, run_id) with the metrics of each
    one's newest evaluation run; a run with none is left out."""
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient()
    found = client.get_experiment_by_name(EXPERIMENT)
    columns = ["setting", "method", "seed", "run_id", *(m for m, _, _ in ORDERINGS)]
    if found is None or trained.empty:
        return pd.DataFrame(columns=columns)
    runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    newest: dict[str, dict[str, float]] = {}
    for run in runs:
        newest.setdefault(run.data.tags.get(EVALUATES, ""), run.data.metrics)
    rows = [
        {**row, **{m: newest[row["run_id"]].get(m) for m, _, _ in ORDERINGS}}
        for row in trained[["setting", "method", "seed", "run_id"]].to_dict("records")
        if row["run_id"] in newest
    ]
    return pd.DataFrame(rows, columns=columns)


def claims(scale: str, seeds: int | None) -> list:
    """No number of Section 7 is compared: its values are ImageNet's; only its orderings are
    (:func:`directions`)."""
    del scale, seeds
    return []


def directions(scale: str, seeds: int | None) -> list:
    """Section 7's orderings at ``scale`` on the main sweep's boxed settings."""
    from benchmarks.data import BOXED_DATASETS
    from benchmarks.sweep.experiments import EXPERIMENTS, expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.main_table import NAMES
    from benchmarks.tables.sweep_runs import finished

    experiment = EXPERIMENTS["main"]
    boxed = [s for s in experiment.settings_at(scale) if s.dataset in BOXED_DATASETS]
    if not boxed:
        return []
    tidy = evaluations(finished(run_states(expand("main", scale=scale, seeds=seeds))))
    found = []
    for setting in boxed:
        for metric, words, lower in ORDERINGS:
            ours = ("comixup", *by_seed(tidy, metric, setting=setting.name, method="comixup"))
            for method in (m for m in experiment.methods if m != "comixup"):
                found.append(
                    direction(
                        "Section 7",
                        f"Co-Mixup {words} than {NAMES[method]}, {setting.name}",
                        ours,
                        (method, *by_seed(tidy, metric, setting=setting.name, method=method)),
                        statistic=metric.replace("_", " ") + " %",
                        scale=scale,
                        lower_is_better=lower,
                        command=f"comixup-bench robustness --scale {scale}",
                    )
                )
    return found
