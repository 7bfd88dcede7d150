"""``comixup-bench robustness`` end to end on tiny real runs of the built-in boxed digits, and
the tables from a hand-made frame."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from benchmarks.cli import main
from benchmarks.configs import PRESETS
from benchmarks.data import BOXED_DATASETS
from benchmarks.evaluation.robustness import spread_indices
from benchmarks.sweep.experiments import EXPERIMENTS
from benchmarks.tables.robustness import localization_table, robustness_table

TINY = [
    "--epochs", "1", "--limit-batches", "2", "--width", "4", "--no-progress",
    "--set", "batch_size=20", "--set", "warmup_batches=0",
]  # fmt: skip
"""One epoch of two batches, evaluated on the whole test split (so its error can be checked
against the robustness command's clean set)."""


def test_the_smoke_sweep_has_a_boxed_setting():
    smoke = EXPERIMENTS["main"].smoke_settings
    assert {s.dataset for s in smoke} & set(BOXED_DATASETS)
    assert set(BOXED_DATASETS) <= set(PRESETS)


def test_grid_images_spread_over_the_set():
    assert spread_indices(4, 360) == [0, 120, 239, 359]
    assert spread_indices(5, 3) == [0, 1, 2]
    assert spread_indices(1, 10) == [0]
    assert spread_indices(0, 10) == []


def test_tables_take_mean_and_std_over_seeds():
    rows = [
        {"setting": "s", "method": m, "seed": seed, "run_id": f"{m}{seed}",
         "eval_run_id": f"e{m}{seed}", "set": name, "top1_error": top1,
         "top5_error": top1 / 2, "loc_top1": 100 - top1}
        for m, values in (("vanilla", (10.0, 20.0)), ("comixup", (30.0,)))
        for seed, top1 in enumerate(values)
        for name in ("clean", "noise")
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    order = [("s", "vanilla"), ("s", "comixup"), ("s", "cutmix")]
    shown, numbers = robustness_table(frame, order, ["clean", "noise"])
    assert shown["clean top-1 err (%)"].tolist() == ["15.00 (7.07)", "30.00 (-)", "-"]
    assert shown["seeds"].tolist() == [2, 1, 0]
    assert numbers.loc[0, "noise top5_error mean"] == pytest.approx(7.5)
    assert numbers.loc[0, "MLflow runs"] == "vanilla0 vanilla1"
    shown, _ = localization_table(frame, order, ["clean"])
    assert shown["clean loc top-1 acc (%)"].tolist()[:2] == ["85.00 (7.07)", "70.00 (-)"]


def _train(method: str) -> str:
    assert main(["train", "--dataset", "boxed-digits", "--method", method, *TINY]) == 0
    [run] = [
        r
        for r in MlflowClient().search_runs(
            [e.experiment_id for e in MlflowClient().search_experiments()]
        )
        if r.data.params.get("method") == method
    ]
    return run.info.run_id


def test_robustness_evaluates_a_trained_run(store, tmp_path):
    trained = {"vanilla": _train("vanilla")}
    out = tmp_path / "reports"
    code = main(
        ["robustness", "--run-id", *trained.values(), "--examples", "3", "--out", str(out),
         "--data-dir", str(tmp_path / "data")]
    )  # fmt: skip
    assert code == 0
    robust = pd.read_csv(out / "robustness.csv")
    local = pd.read_csv(out / "localization.csv")
    assert robust["method"].tolist() == local["method"].tolist() == ["vanilla"]
    client = MlflowClient()
    rows = zip(robust.to_dict("records"), local.to_dict("records"), strict=True)
    for row, loc in rows:
        for name in ("clean", "replacement", "noise"):
            top1, top5 = row[f"{name} top1_error mean"], row[f"{name} top5_error mean"]
            assert 0 <= top5 <= top1 <= 100
            # Localised needs the right class: at most the top-1 accuracy.
            assert 0 <= loc[f"{name} loc_top1 mean"] <= 100 - top1 + 1e-9
        trained_run = client.get_run(row["MLflow runs"])
        [evaluation] = client.search_runs(
            [client.get_experiment_by_name("robustness").experiment_id],
            filter_string=f"tags.evaluates = '{row['MLflow runs']}'",
        )
        assert evaluation.info.run_id == row["evaluation runs"]
        metrics = evaluation.data.metrics
        assert metrics["clean_top1_error"] == pytest.approx(row["clean top1_error mean"])
        assert metrics["clean_images"] == 360
        # The clean set holds the test split's own pixels: the trained run's last evaluation
        # of the same model on it gives the same error.
        assert metrics["clean_top1_error"] == pytest.approx(
            trained_run.data.metrics["test_top1_error_last"]
        )
        assert math.isclose(float(evaluation.data.params["cam_threshold"]), 0.25)
    grid = out / "cam_grid.png"
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "loc top-1 acc" in (out / "localization.md").read_text()


def test_robustness_without_runs_says_what_to_do(store, capsys):
    assert main(["robustness", "--scale", "smoke"]) == 2
    assert "comixup-bench sweep main --scale smoke" in capsys.readouterr().err


def test_robustness_of_an_unknown_run(store, capsys):
    assert main(["robustness", "--run-id", "0" * 32]) == 2
    assert "no run" in capsys.readouterr().err
