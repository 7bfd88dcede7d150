"""The runner's commands as a user types them: compare, timing, train (resume flags)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


SMOKE = ["--epochs", "1", "--limit-batches", "1", "--width", "4", "--no-progress"]


def test_compare_writes_the_table_from_the_runs(workdir, capsys):
    code = main(
        [
            "compare",
            "--dataset",
            "builtin",
            "--methods",
            "vanilla",
            "cutmix",
            *SMOKE,
            "--set",
            "limit_eval_batches=1",
            "--set",
            "warmup_batches=0",
            "--out",
            str(workdir / "reports"),
        ]
    )
    assert code == 0
    table = pd.read_csv(workdir / "reports" / "compare-builtin.csv")
    assert list(table["method"]) == ["vanilla", "cutmix"]
    assert table.columns[1] == "top-1 error, median last 10 (%)"  # the paper's statistic first
    for column in ("top-1 error, median last 10 (%)", "last (%)", "best (%)"):
        assert table[column].between(0, 100).all()
    assert (table["best (%)"] <= table["last (%)"]).all()
    assert (table["s / batch (median)"] > 0).all()
    markdown = (workdir / "reports" / "compare-builtin.md").read_text()
    assert "| vanilla" in markdown and "mlflow ui" in markdown
    epochs = int(table["epochs in median"].iloc[0])
    assert epochs < 10 and f"fewer than 10 epochs here ({epochs} epochs" in markdown
    assert "cutmix" in capsys.readouterr().out


def test_timing_reports_phases_and_the_papers_ratios(workdir):
    code = main(
        [
            "timing",
            "--width",
            "4",
            "--batch-size",
            "8",
            "--batches",
            "2",
            "--warmup",
            "0",
            "--methods",
            "vanilla",
            "puzzle_mix",
            "comixup",
            "--out",
            str(workdir / "reports"),
            "--no-progress",
        ]
    )
    assert code == 0
    table = pd.read_csv(workdir / "reports" / "step-time.csv")
    assert list(table["method"]) == [
        "vanilla", "puzzle_mix", "puzzle_mix (gco)", "comixup", "comixup (gco)"
    ]  # fmt: skip
    rows = table.set_index("method")
    assert list(rows["backend"].fillna("")) == ["", "compiled", "gco", "compiled", "gco"]
    comixup = rows.loc["comixup"]
    assert comixup["saliency (ms)"] > 0 and comixup["mixing (ms)"] > 0
    assert 0 < comixup["mixing share"] < 1
    assert table.set_index("method").loc["vanilla", "x vanilla"] == 1.0
    text = (workdir / "reports" / "step-time.md").read_text()
    assert "comixup / vanilla" in text and "2.58x" in text and "Device: cpu" in text


def test_train_resume_requires_a_checkpoint(workdir, capsys):
    code = main(["train", "--dataset", "builtin", "--method", "vanilla", "--resume", *SMOKE])
    assert code == 2
    err = capsys.readouterr().err
    assert "no checkpoint for this configuration" in err and "without --resume" in err
    assert len(err.strip().splitlines()) == 1


def test_train_then_resume_flag_continues(workdir, capsys):
    args = [
        "train",
        "--dataset",
        "builtin",
        "--method",
        "vanilla",
        *SMOKE,
        "--set",
        "limit_eval_batches=1",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main([*args, "--resume"]) == 0
    second = capsys.readouterr().out
    run_id = first.split("MLflow run ")[1].split(":")[0]
    assert f"MLflow run {run_id}" in second
