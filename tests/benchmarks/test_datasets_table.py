"""The table that picks the main job's built-in set: its separation statistics against an
independent computation, its verdict, and the table from real runs of the ``datasets`` sweep."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sweep_fixtures import TINY, tiny_set

from benchmarks.cli import main
from benchmarks.configs import preset
from benchmarks.methods import METHOD_NAMES
from benchmarks.sweep.experiments import ALL_METHODS, expand, get_experiment
from benchmarks.sweep.job import SweepJob
from benchmarks.tables import datasets


def _tidy(errors: dict[str, list[float]], setting: str = "builtin/preactresnet18") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"setting": setting, "method": method, "seed": seed, "last": value, "median10": value}
            for method, values in errors.items()
            for seed, value in enumerate(values)
        ]
    )


def _anova(groups: list[list[float]]) -> float:
    """One-way ANOVA's F from its sums of squares, written out."""
    values = np.concatenate(groups)
    grand = values.mean()
    between = sum(len(g) * (np.mean(g) - grand) ** 2 for g in groups) / (len(groups) - 1)
    within = sum(((np.asarray(g) - np.mean(g)) ** 2).sum() for g in groups)
    return between / (within / (len(values) - len(groups)))


def test_separation_matches_sums_of_squares_and_pooled_std():
    errors = {"vanilla": [10.0, 12.0, 11.0], "cutmix": [5.0, 6.0, 4.0], "comixup": [3.0, 3.5, 2.5]}
    found = datasets.separation(_tidy(errors), "last")
    assert found["ANOVA F"] == pytest.approx(_anova(list(errors.values())))
    assert found["spread of method means"] == pytest.approx(11.0 - 3.0)
    variances = [np.var(v, ddof=1) for v in errors.values()]
    assert found["seed std (pooled)"] == pytest.approx(np.sqrt(np.mean(variances)))
    assert 0 < found["ANOVA P"] < 0.01


def test_one_seed_per_method_gives_no_test():
    found = datasets.separation(_tidy({"vanilla": [10.0], "cutmix": [5.0]}), "last")
    assert found["spread of method means"] == 5.0
    assert np.isnan(found["ANOVA F"]) and np.isnan(found["seed std (pooled)"])


def test_the_verdict_names_the_set_whose_methods_differ_beyond_the_seeds():
    flat = _tidy({"vanilla": [1.0, 3.0], "cutmix": [2.0, 2.5]}, "builtin/preactresnet18")
    apart = _tidy({"vanilla": [20.0, 21.0], "cutmix": [10.0, 11.5]}, "boxed-digits/preactresnet18")
    separations = datasets.separation_table(pd.concat([flat, apart]))
    text = datasets.verdict(separations)
    assert text.startswith("On the last epoch's error, **boxed-digits** separates")
    assert "; builtin F 0.06 (P 0.831)." in text
    assert "On the median of the last 10 epochs: builtin F 0.06" in text  # never hidden
    assert datasets.verdict(separations[separations["set"] == "builtin"]).startswith("Not decided")


def test_the_experiment_is_the_readme_main_job_on_both_sets():
    experiment = get_experiment("datasets")
    assert [s.dataset for s in experiment.settings] == ["builtin", "boxed-digits"]
    assert experiment.methods == ALL_METHODS == METHOD_NAMES  # every method compare trains
    for run in expand("datasets", seeds=2):  # the presets `compare` trains, method and seed aside
        expected = dataclasses.replace(preset(run.config.dataset), method=run.method, seed=run.seed)
        assert run.config == expected


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two seeds of two methods on both sets, tiny, through the sweep's own job."""
    root = tmp_path_factory.mktemp("datasets")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    overrides = [*TINY, f"data_dir={root / 'data'}"]
    runs = [
        run
        for run in expand("datasets", scale="smoke", seeds=2, overrides=overrides)
        if run.method in ("vanilla", "cutmix")
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the runs' artifacts go under the store's folder
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for run in runs:
            SweepJob(run, root / "checkpoints", uri)()
    return uri, overrides, root


def test_the_table_from_real_runs(store, tmp_path, monkeypatch):
    uri, overrides, _ = store
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data_dir = overrides[-1]
    args = ["table", "datasets", "--scale", "smoke", *tiny_set(data_dir), "--out", "reports"]
    assert main(args) == 0
    tidy = pd.read_csv(tmp_path / "reports" / "datasets.csv")
    assert len(tidy) == 8 and set(tidy["method"]) == {"vanilla", "cutmix"}
    client = MlflowClient(uri)
    for _, row in tidy.iterrows():
        logged = client.get_run(row["run_id"]).data.metrics["test_top1_error_last"]
        assert row["last"] == logged
    separations = pd.read_csv(tmp_path / "reports" / "datasets-separation.csv")
    assert list(separations["set"]) == ["builtin", "builtin", "boxed-digits", "boxed-digits"]
    for (setting, statistic), expected in {
        ("builtin", "last"): tidy[tidy["setting"].str.startswith("builtin")],
        ("boxed-digits", "last"): tidy[tidy["setting"].str.startswith("boxed")],
    }.items():
        row = separations[(separations["set"] == setting)
                          & (separations["statistic"] == "last epoch")].iloc[0]  # fmt: skip
        means = expected.groupby("method")[statistic].mean()
        assert row["spread of method means"] == pytest.approx(means.max() - means.min())
    text = (tmp_path / "reports" / "datasets.md").read_text()
    assert "separates the methods" in text or "Not decided" in text
    assert "Missing or unfinished (20 of 28 runs" in text
    assert (tmp_path / "reports" / "datasets.png").stat().st_size > 1000


def test_the_table_without_runs_says_how_to_make_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["table", "datasets", "--scale", "smoke", "--out", "reports"]) == 2
    assert "comixup-bench sweep datasets --scale smoke" in capsys.readouterr().err


def test_the_main_job_trains_on_the_chosen_set():
    from benchmarks.cli import get_parser

    args = get_parser().parse_args(["compare"])
    assert args.dataset == "boxed-digits" and args.jobs == 1
    assert get_parser().parse_args(["train", "--method", "vanilla"]).dataset == "builtin"


def test_compare_refuses_a_jobs_count_below_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["compare", "--dataset", "builtin", "--jobs", "0"]) == 2
    assert "--jobs must be at least 1, got 0" in capsys.readouterr().err


def test_robustness_evaluates_the_experiments_boxed_runs(store, monkeypatch, capsys):
    uri, overrides, root = store
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data_dir = overrides[-1].partition("=")[2]
    selection = ["--experiment", "datasets", "--scale", "smoke", *tiny_set(overrides[-1])]
    args = ["robustness", *selection, "--data-dir", data_dir, "--out", "reports"]
    assert main(args) == 0
    numbers = pd.read_csv(root / "reports" / "robustness.csv")
    assert len(numbers) == 2 and list(numbers["method"]) == ["vanilla", "cutmix"]
    assert (numbers["seeds"] == 2).all()
    text = (root / "reports" / "robustness.md").read_text()
    assert "the datasets sweep, smoke scale" in text
    assert "Missing or unfinished (10 of 14 runs" in text  # its boxed runs only
