"""The algorithm-analysis commands (table3, table4, figure2, analysis) at small scale: the
Markdown, CSV and PNG they write, and their MLflow runs."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks.cli import main

SMALL = ["--sizes", "5", "10", "--no-progress"]


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    """One SQLite store for the module (creating one takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def workdir(tmp_path, monkeypatch, tracking_uri):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    return tmp_path


def markdown_table(path) -> tuple[list[str], list[list[str]]]:
    """Header cells and rows of the first Markdown table in ``path``, checked for shape."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    header, separator, *rows = lines
    assert set(separator) <= set("|-: ")
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in rows]
    names = [cell.strip() for cell in header.strip("|").split("|")]
    assert all(len(row) == len(names) for row in cells)
    return names, cells


def analysis_run(name: str, tracking_uri: str) -> mlflow.entities.Run:
    client = mlflow.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("analysis")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.run_name = '{name}'",
        order_by=["attributes.start_time DESC"],
    )
    assert runs, f"no MLflow run named {name}"
    return runs[0]


def artifact_names(run, tracking_uri: str) -> set[str]:
    client = mlflow.MlflowClient(tracking_uri)
    return {item.path for item in client.list_artifacts(run.info.run_id)}


def test_table3(workdir, tracking_uri, capsys):
    assert main(["table3", "--seeds", "2", *SMALL]) == 0

    names, rows = markdown_table(workdir / "reports" / "table3.md")
    assert names[:2] == ["m = m'", "seeds"]
    assert [row[0] for row in rows] == ["5", "10"]
    frame = pd.read_csv(workdir / "reports" / "table3.csv")
    assert list(frame["m = m'"]) == [5, 10] and (frame["seeds"] == 2).all()
    assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()
    # Algorithm 1 < Narasimhan-Bilmes < random guess (measured with a wide margin at m >= 5).
    assert (frame["Algorithm 1 mean"] < frame["Narasimhan-Bilmes mean"]).all()
    assert (frame["Narasimhan-Bilmes mean"] < frame["random guess mean"]).all()

    run = analysis_run("table3", tracking_uri)
    assert run.data.params["seeds"] == "2"
    assert "cpu_model" in run.data.tags and "version.numpy" in run.data.tags
    assert {"table3.md", "table3.csv", "table3-records.csv"} <= artifact_names(run, tracking_uri)
    assert "wrote reports/table3.md" in capsys.readouterr().out


def test_table4(workdir, tracking_uri):
    assert main(["table4", "--seeds", "2", *SMALL]) == 0

    names, rows = markdown_table(workdir / "reports" / "table4.md")
    assert "Algorithm 1 (s) mean" in names and "Narasimhan-Bilmes (s) mean" in names
    assert len(rows) == 2
    frame = pd.read_csv(workdir / "reports" / "table4.csv")
    assert (frame["Algorithm 1 (s) mean"] > 0).all()
    assert (frame["Narasimhan-Bilmes (s) mean"] > 0).all()
    assert (frame["Narasimhan-Bilmes steps mean"] >= 1).all()
    run = analysis_run("table4", tracking_uri)
    assert {"table4.md", "table4.csv"} <= artifact_names(run, tracking_uri)


def test_figure2(workdir, tracking_uri, capsys):
    code = main(["figure2", "--trials", "2", "--levels", "2", "3", *SMALL])
    assert code == 0

    reports = workdir / "reports"
    frame = pd.read_csv(reports / "figure2.csv")
    assert list(frame["panel"]) == ["levels", "levels", "m", "m"]
    assert list(frame["x"]) == [2, 3, 5, 10]
    assert (frame["mean (ms)"] > 0).all() and (frame["trials"] == 2).all()
    with Image.open(reports / "figure2.png") as image:
        image.verify()
    with Image.open(reports / "figure2.png") as image:
        assert image.format == "PNG"
        assert image.width >= 600 and image.height >= 300
        colours = image.convert("L").getextrema()
        assert colours[1] - colours[0] > 100  # not a blank canvas
    assert (reports / "figure2.png").stat().st_size > 10_000
    names, rows = markdown_table(reports / "figure2.md")
    assert names[:2] == ["panel", "x"] and len(rows) == 4
    markdown = (reports / "figure2.md").read_text()
    assert "![Figure 2](figure2.png)" in markdown and "slope" in markdown
    printed = capsys.readouterr().out
    assert "fitted growth over |L|: slope" in printed and "fitted growth over m: slope" in printed

    run = analysis_run("figure2", tracking_uri)
    assert {"figure2.png", "figure2.csv"} <= artifact_names(run, tracking_uri)
    assert "slope.levels" in run.data.metrics and "slope.m" in run.data.metrics


def test_analysis_writes_every_report_and_the_summary(workdir, tracking_uri):
    argv = ["analysis", "--seeds", "1", "--trials", "1", "--sizes", "5", "--levels", "2", "3"]
    code = main([*argv, "--no-progress"])
    assert code == 0

    reports = workdir / "reports"
    for name in ("table2", "table3", "table4", "figure2"):
        assert (reports / f"{name}.md").read_text().startswith("# ")
        assert len(pd.read_csv(reports / f"{name}.csv")) > 0
        assert analysis_run(name, tracking_uri).info.status == "FINISHED"
    summary = (reports / "analysis.md").read_text()
    assert summary.startswith("# Algorithm analysis")
    for needle in ("CPU:", "logical cores:", "torch threads:", "numpy:", "gco-wrapper:"):
        assert needle in summary
    for title in ("Table 2", "Table 3", "Table 4", "Figure 2"):
        assert f"## {title}" in summary
    # Every table row has as many cells as its header (no stray "|" in a cell).
    for block in summary.split("\n\n"):
        table = [line for line in block.splitlines() if line.startswith("|")]
        if table:
            assert len({line.count("|") for line in table}) == 1, block
    assert summary.count("MLflow run `") == 4


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["table3", "--seeds", "0"], "--seeds"),
        (["table4", "--sizes", "0"], "--sizes"),
        (["figure2", "--trials", "-1"], "--trials"),
        (["figure2", "--levels", "1"], "--levels"),
    ],
)
def test_bad_options_are_refused(argv, flag, workdir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err
    assert not (workdir / "reports").exists()
