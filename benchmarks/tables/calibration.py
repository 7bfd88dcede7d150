"""Supplement Table 6 and Figures 3-5: expected calibration error (ECE) and reliability diagrams
of every method, from the ``main`` experiment's runs (the ``calibration`` experiment trains
none of its own).

Each finished run keeps its final test-set predictions (``predictions.npz``,
``benchmarks.prediction_file``); the ECE is recomputed from them
(``benchmarks.tables.calibration_error``: torchmetrics, 10 equal-width bins, l1 norm, the
paper's TensorFlow Probability reference) and shown in percent beside the ECE the run logged at
its last epoch (the same model, so the two agree to float rounding: a check that the artifact
is the run's) and the paper's value. A confidence of exactly 1.0 (a float32 softmax saturates
there when one logit leads the others by more than about 17) forms a bin of its own in
torchmetrics and falls in the last bin in TensorFlow Probability; the CSV gives the ECE with
TensorFlow Probability's bins too, and the share of such items. The reliability diagrams
(``benchmarks.tables.reliability``) pool each method's seeds.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from benchmarks import prediction_file as preds
from benchmarks.sweep.experiments import Experiment, Setting
from benchmarks.tables import reliability
from benchmarks.tables.calibration_error import N_BINS, expected_calibration_error, tfp_ece
from benchmarks.tables.claims import Claim
from benchmarks.tables.selection import Selection

EXPERIMENT = "calibration"
PAPER_TABLE = "table6"

TITLE = "Table 6: calibration (expected calibration error)"
REPRODUCE = (
    "comixup-bench sweep calibration --scale {scale}\n"
    "comixup-bench table calibration --scale {scale}"
)


@dataclass(frozen=True)
class RunCalibration:
    """One finished run's calibration, from its artifact (``ece`` None when it has none)."""

    setting: str
    method: str
    seed: int
    run_id: str
    logged_ece: float | None
    device: str = ""
    predictions: preds.Predictions | None = None
    ece: float | None = None
    """From ``predictions`` with :func:`expected_calibration_error` (a fraction)."""


# ------------------------------------------------------------------------------ the numbers ----


# ------------------------------------------------------------------------------ the runs ----


def load_predictions(run_id: str) -> preds.Predictions | None:
    """The run's ``predictions.npz``, or None when it has none."""
    import mlflow
    from mlflow.tracking import MlflowClient

    names = {item.path for item in MlflowClient().list_artifacts(run_id)}
    if preds.ARTIFACT not in names:
        return None
    # A progress bar per file would drown the table in a sweep's worth of bars.
    quiet = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, quiet):
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=preds.ARTIFACT, dst_path=folder
        )
        return preds.load(Path(path))


def measure(states: Sequence) -> list[RunCalibration]:
    """One :class:`RunCalibration` per done run of ``states`` (``benchmarks.sweep.state``)."""
    from mlflow.tracking import MlflowClient

    from benchmarks.sweep.state import DONE

    client = MlflowClient()
    measured = []
    for state in states:
        if state.state != DONE:
            continue
        logged = (state.metrics or {}).get("test_ece")
        predictions = load_predictions(state.run_id)
        measured.append(
            RunCalibration(
                setting=state.run.setting,
                method=state.run.method,
                seed=state.run.seed,
                run_id=state.run_id,
                logged_ece=logged,
                device=client.get_run(state.run_id).data.tags.get("device", ""),
                predictions=predictions,
                ece=None if predictions is None else expected_calibration_error(predictions),
            )
        )
    return measured


def dataset_of(setting: str) -> str:
    return setting.split("/", 1)[0]


def stands_for(experiment: Experiment, setting: str, scale: str) -> list[Setting]:
    """The paper settings a measured setting stands for: itself at the paper's scale; at smoke
    scale the built-in set stands in for every paper setting."""
    if scale == "paper":
        return [s for s in experiment.settings if s.name == setting]
    return list(experiment.settings)


def measured_setting(experiment: Experiment, paper_setting: Setting, scale: str) -> str:
    """The setting whose runs measure ``paper_setting`` at ``scale``."""
    if scale == "paper":
        return paper_setting.name
    measured = experiment.settings_at(scale)
    models = [s for s in measured if s.model == paper_setting.model]
    return (models or list(measured))[0].name


def paper_value(dataset: str, method: str) -> float | None:
    from benchmarks.tables.paper import by_method, published

    if dataset not in published(PAPER_TABLE):
        return None
    return by_method(PAPER_TABLE, dataset).get(method)


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    series = pd.Series(values, dtype=float)
    return float(series.mean()), float(series.std(ddof=1)) if len(values) > 1 else math.nan


def _shown(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.2f} ({'-' if math.isnan(std) else f'{std:.2f}'})"


# ------------------------------------------------------------------------------ the table ----


def calibration_table(
    measured: Sequence[RunCalibration], experiment: Experiment, scale: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the Markdown frame, the CSV frame): one row per setting and method of ``scale``, ECE %
    mean (std) over the seeds with an artifact, the logged ECE over every finished seed, the
    paper's value(s) for the setting's dataset (at smoke scale: those of every paper dataset
    the built-in set stands in for)."""
    settings = experiment.settings_at(scale)
    shown, numbers = [], []
    for setting in settings:
        papers = stands_for(experiment, setting.name, scale)
        paper_title = "paper ECE %" + (
            "" if scale == "paper" else f" ({' / '.join(dataset_of(s.name) for s in papers)})"
        )
        for method in experiment.methods:
            cell = sorted(
                (r for r in measured if r.setting == setting.name and r.method == method),
                key=lambda r: r.seed,
            )
            kept = [r for r in cell if r.predictions is not None]
            ece = _mean_std([100 * r.ece for r in kept])
            logged = _mean_std([100 * r.logged_ece for r in cell if r.logged_ece is not None])
            gaps = [abs(r.ece - r.logged_ece) * 100 for r in kept if r.logged_ece is not None]
            tfp = _mean_std([100 * tfp_ece(r.predictions) for r in kept])
            saturated = [float((r.predictions.confidence >= 1.0).mean()) for r in kept]
            paper = [paper_value(dataset_of(s.name), method) for s in papers]
            paper_text = " / ".join("-" if v is None else f"{v:.1f}" for v in paper)
            shown.append(
                {
                    "setting": setting.name,
                    "method": method,
                    "ECE % (artifact)": _shown(*ece),
                    "ECE % (logged)": _shown(*logged),
                    paper_title: paper_text,
                    "seeds": len(kept),
                }
            )
            numbers.append(
                {
                    "setting": setting.name,
                    "method": method,
                    "ece mean": ece[0],
                    "ece std": ece[1],
                    "logged ece mean": logged[0],
                    "logged ece std": logged[1],
                    "max |artifact - logged|": max(gaps) if gaps else math.nan,
                    "ece tfp bins mean": tfp[0],
                    "confidence 1.0 share": float(np.mean(saturated)) if saturated else math.nan,
                    "paper": paper_text,
                    "seeds": len(kept),
                    "seed list": " ".join(str(r.seed) for r in kept),
                    "MLflow runs": " ".join(r.run_id for r in kept),
                    "runs without predictions": " ".join(
                        r.run_id for r in cell if r.predictions is None
                    ),
                }
            )
    return pd.DataFrame(shown), pd.DataFrame(numbers)


def missing_artifacts_note(measured: Sequence[RunCalibration]) -> str:
    """Names the finished runs without ``predictions.npz``; empty when none."""
    lacking = [r for r in measured if r.predictions is None]
    if not lacking:
        return ""
    listed = "; ".join(f"{r.setting}/{r.method} seed {r.seed} (run {r.run_id})" for r in lacking)
    return (
        f"Finished runs without {preds.ARTIFACT} ({len(lacking)} of {len(measured)}; they "
        "count in the logged column only; runs keep their predictions since this table "
        f"exists, so they finished earlier or the artifact was deleted): {listed}."
    )


# ---------------------------------------------------------------------------- the figures ----


def figure_name(setting: str) -> str:
    return f"reliability_{dataset_of(setting)}.png"


def pooled(runs: Sequence[RunCalibration]) -> preds.Predictions | None:
    kept = [r.predictions for r in runs if r.predictions is not None]
    return preds.concatenate(kept) if kept else None


def write_figures(
    measured: Sequence[RunCalibration], experiment: Experiment, scale: str, out: Path
) -> list[Path]:
    """``reliability_<dataset>.png`` per setting of ``scale``, one panel per method."""
    settings = experiment.settings_at(scale)
    paths = []
    for setting in settings:
        panels = []
        for method in experiment.methods:
            cell = [r for r in measured if r.setting == setting.name and r.method == method]
            eces = [100 * r.ece for r in cell if r.predictions is not None]
            panels.append((method, pooled(cell), eces))
        title = (
            f"Reliability diagrams, {setting.name} ({scale} scale; each method's seeds pooled, "
            f"{N_BINS} equal-width bins)"
        )
        paths.append(reliability.reliability_figure(title, panels, out / figure_name(setting.name)))
    return paths


# ----------------------------------------------------------------------------- the report ----


def write_report(selection: Selection, out: Path) -> Path:
    """reports/calibration.{md,csv} and the reliability diagrams from the ``main`` runs of
    ``selection``; the Markdown's path."""
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.report import scale_note, write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    experiment = get_experiment(EXPERIMENT)
    states = run_states(
        expand(EXPERIMENT, scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    )
    measured = measure(states)
    shown, numbers = calibration_table(measured, experiment, scale)
    figures = write_figures(measured, experiment, scale, out)
    text = [
        f"ECE (%): torchmetrics `multiclass_calibration_error`, {N_BINS} equal-width bins, "
        "l1 norm, on each run's final test-set predictions (`predictions.npz`), mean (std) "
        "over seeds; logged: the `test_ece` the run logged at its last epoch (the same model: "
        "the two agree to float rounding, the CSV's `max |artifact - logged|`). The CSV adds "
        "the ECE with TensorFlow Probability's bins (a confidence of exactly 1.0 in the last "
        "bin rather than a bin of its own) and the MLflow run ids.",
        f"The runs are the `{experiment.runs_of_at(scale)}` experiment's: `comixup-bench sweep "
        f"{experiment.name}` launches the ones missing.",
        scale_note(scale),
        missing_artifacts_note(measured),
        missing_note(states),
        "\n\n".join(f"![{path.stem}]({path.name})" for path in figures),
    ]
    md, csv = write_table(
        shown,
        EXPERIMENT,
        out,
        title=f"{experiment.title}, {scale} scale",
        notes="\n\n".join(t for t in text if t),
        floatfmt=".1f",  # the paper's values, as published
    )
    numbers.to_csv(csv, index=False)
    return md


def claims(scale: str, seeds: int | None = None) -> list[Claim]:
    """One claim per paper dataset and method: the paper's ECE % beside the mean over seeds
    recomputed from the runs' predictions (at smoke scale, the built-in set's stand-in runs),
    with the reliability diagram that shows it. Reads the current MLflow tracking URI."""
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states

    measured = measure(run_states(expand(EXPERIMENT, scale=scale, seeds=seeds)))
    command = f"comixup-bench sweep {EXPERIMENT} --scale {scale}" + (
        f" --seeds {seeds}" if seeds else ""
    )
    return claims_from(measured, get_experiment(EXPERIMENT), scale, command)


def claims_from(
    measured: Sequence[RunCalibration], experiment: Experiment, scale: str, command: str
) -> list[Claim]:
    """:func:`claims` from measured runs."""
    found = []
    for paper_setting in experiment.settings:
        dataset = dataset_of(paper_setting.name)
        source = measured_setting(experiment, paper_setting, scale)
        for method in experiment.methods:
            kept = [
                r
                for r in measured
                if r.setting == source and r.method == method and r.predictions is not None
            ]
            mean, std = _mean_std([100 * r.ece for r in kept])
            found.append(
                Claim(
                    table="Table 6",
                    claim=f"ECE of {method}, {dataset}"
                    + ("" if source == paper_setting.name else f" (measured on {source})"),
                    paper=paper_value(dataset, method),
                    measured=None if math.isnan(mean) else mean,
                    unit="ECE %",
                    scale=scale,
                    seeds=len(kept),
                    spread=None if math.isnan(std) else std,
                    command=command,
                    run_ids=tuple(r.run_id for r in kept),
                    device=", ".join(sorted({r.device for r in kept if r.device})),
                    figures=(figure_name(source),),
                )
            )
    return found


def directions(scale: str, seeds: int | None = None) -> list:
    """Table 6's ordering at ``scale``: Co-Mixup's ECE (recomputed from each run's
    predictions) is below each baseline's, per setting, paired over seeds."""
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.directions import by_seed, direction
    from benchmarks.tables.main_table import NAMES

    experiment = get_experiment(EXPERIMENT)
    measured = measure(run_states(expand(EXPERIMENT, scale=scale, seeds=seeds)))
    rows = [(r.setting, r.method, r.seed, r.run_id, 100 * r.ece) for r in measured if r.ece]
    tidy = pd.DataFrame(rows, columns=["setting", "method", "seed", "run_id", "ece"])
    found = []
    for setting in experiment.settings_at(scale):
        ours = ("comixup", *by_seed(tidy, "ece", setting=setting.name, method="comixup"))
        for method in (m for m in experiment.methods if m != "comixup"):
            found.append(
                direction(
                    "Table 6",
                    f"Co-Mixup's ECE is below {NAMES[method]}'s, {setting.name}",
                    ours,
                    (method, *by_seed(tidy, "ece", setting=setting.name, method=method)),
                    statistic="ECE %, 10 equal-width bins",
                    scale=scale,
                    command=f"comixup-bench sweep {EXPERIMENT} --scale {scale}",
                )
            )
    return found
