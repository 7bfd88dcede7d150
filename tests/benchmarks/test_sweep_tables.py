"""The grid experiments (Tables 5, 7, 8): their grids, the run Table 7's rows share, and each
table built from a small store of real runs trained here through the sweep's job."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from speech_fixture import write_speech_commands
from sweep_fixtures import TINY, tiny_set

from benchmarks.cli import main
from benchmarks.configs import preset
from benchmarks.data import speech_builtin
from benchmarks.sweep.experiments import (
    SENSITIVITY_ROWS,
    SPEECH_SMOKE,
    VAT_COLUMNS,
    cells,
    expand,
)
from benchmarks.sweep.job import SweepJob
from benchmarks.tables import paper, sensitivity, table5, vat
from benchmarks.tables.claims import NOT_RUN
from comixup.config import CoMixupConfig

SPEECH_TINY = ["epochs=2", "batch_size=10", "limit_batches=1", "warmup_batches=0", "width=2"]


# --- The grids ------------------------------------------------------------------------------


def test_sensitivity_varies_one_setting_at_a_time_and_shares_the_default_point():
    pairs = cells("sensitivity")
    assert len(pairs) == 5 * 5 * 3
    runs = expand("sensitivity")
    assert len(runs) == (5 * 4 + 1) * 3  # four values per row, one default point, 3 seeds
    defaults = CoMixupConfig()
    for variant, run in pairs:
        assert run.setting == "cifar100/preactresnet18" and run.method == "comixup"
        changed = {
            name
            for name, value in run.config.method_settings.items()
            if value != getattr(defaults, name)
        }
        assert len(changed) == len(variant.overrides) <= 1
    for seed in range(3):
        shared = {r.key for v, r in pairs if not v.overrides and r.seed == seed}
        rows = {v.row for v, r in pairs if not v.overrides and r.seed == seed}
        assert len(shared) == 1 and rows == set(SENSITIVITY_ROWS)
    published = paper.published("table7")
    for row, (_, values) in SENSITIVITY_ROWS.items():
        assert [float(v) for v in published[row]["values"]] == [float(v) for v in values]


def test_a_set_may_not_change_what_the_grid_varies():
    with pytest.raises(ValueError, match=r"grid sets .*comixup\.beta"):
        expand("sensitivity", overrides=["comixup.beta=0.5"])
    with pytest.raises(ValueError, match=r"vat\.alpha"):
        expand("vat", overrides=["vat.alpha=1"])


def test_the_vat_grid_is_table_8():
    pairs = cells("vat", scale="smoke")
    assert len(pairs) == 3 * 4 and len(expand("vat")) == 3 * 4 * 3
    settings = {(r.config.method_settings["alpha"], r.config.method_settings["n_power"],
                 r.config.method_settings["epsilon"]) for _, r in pairs}  # fmt: skip
    assert settings == {(a, p, float(e)) for a in (0.001, 0.01, 0.1) for p, e in VAT_COLUMNS}
    published = paper.published("table8")
    assert list(zip(published["power_iterations"], published["epsilon"], strict=True)) == list(
        VAT_COLUMNS
    )
    assert vat.column_label(1, 2) == published["columns"][3]


def test_the_speech_grid_keeps_the_speech_protocol():
    paper_runs = expand("speech")
    assert len(paper_runs) == 2 * 6 * 3
    assert {r.config.dataset for r in paper_runs} == {"speechcommands"}
    assert {r.config.patience for r in paper_runs} == {5}
    smoke = expand("speech", scale="smoke")
    assert {r.setting for r in smoke} == {"speech-builtin/lenet", "speech-builtin/vgg11"}
    for run in smoke:  # the built-in speech preset, shortened, its protocol kept
        fields = {"model": run.config.model, "method": run.method, "seed": run.seed}
        reduced = dataclasses.replace(preset("speech-builtin"), **fields, **SPEECH_SMOKE)
        assert run.config == reduced and run.config.optimizer == "adam"
        assert run.config.patience < run.config.epochs


# --- Tables from real runs ------------------------------------------------------------------


def _train(runs, root, uri) -> None:
    """Each run through the sweep's own job, in this process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for run in runs:
            SweepJob(run, root / "checkpoints", uri)()


def _pick(pairs, **where):
    return [
        run for variant, run in pairs if all(getattr(variant, k) == v for k, v in where.items())
    ]


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """A store with a few tiny runs of each grid (seed 0) and of the main sweep."""
    root = tmp_path_factory.mktemp("grids")
    words = root / "words"
    write_speech_commands(words, speech_builtin.WORDS)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    sens = cells("sensitivity", scale="smoke", overrides=TINY)
    vats = cells("vat", scale="smoke", overrides=TINY)
    main_runs = expand("main", scale="smoke", seeds=1, overrides=TINY)
    speech = expand("speech", scale="smoke", overrides=[*SPEECH_TINY, f"data_dir={words}"])
    chosen = [
        *_pick(sens, row="beta", column="0.32"),  # the default point
        *_pick(sens, row="beta", column="0.16"),
        *_pick(vats, row="0.001", column="0 updates, eps 1"),
        *_pick(vats, row="0.1", column="1 update, eps 2"),
        *[r for r in main_runs if r.method in ("vanilla", "comixup")],
        *[r for r in speech if (r.config.model, r.method) != ("vgg11", "comixup")][:3],
    ]
    _train(chosen, root, uri)
    return uri, words


@pytest.fixture
def in_store(real_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", real_store[0])
    return real_store


def _metric(uri, run_id, name="test_top1_error_median_last10"):
    return MlflowClient(uri).get_run(run_id).data.metrics[name]


def test_table_7_from_real_runs(in_store, tmp_path):
    uri, _ = in_store
    selection = ["--scale", "smoke", *tiny_set()]
    assert main(["table", "sensitivity", *selection, "--out", "reports"]) == 0
    numbers = pd.read_csv(tmp_path / "reports" / "sensitivity.csv")
    assert len(numbers) == 25
    default = numbers[numbers["default"]]
    assert list(default["hyperparameter"]) == list(SENSITIVITY_ROWS)
    [default_run] = set(default["MLflow runs"])  # one run, in all five rows
    assert default["mean"].tolist() == [_metric(uri, default_run)] * 5
    beta = numbers[(numbers["hyperparameter"] == "beta") & (numbers["value"] == 0.16)].iloc[0]
    assert beta["mean"] == _metric(uri, beta["MLflow runs"]) and beta["paper"] == 20.18
    assert numbers["seeds"].sum() == 6

    text = (tmp_path / "reports" / "sensitivity.md").read_text()
    beta_lines = [line for line in text.splitlines() if line.startswith("| beta")]
    assert len(beta_lines) == 5
    assert "**19.87" in beta_lines[2]  # the paper's best of the beta row, at the default
    measured = [default["mean"].iloc[0], beta["mean"]]
    ties = sum(value == min(measured) for value in measured)
    assert sum(f"**{min(measured):.2f}" in line for line in beta_lines) == ties
    assert "Puzzle Mix" in text or "puzzle_mix" in text
    assert "measured: vanilla" in text  # the only baseline the main sweep has here
    assert "Missing or unfinished (19 of 21 runs" in text and "comixup.gamma=0.6" in text
    # The convergence rule's note names the cells and draws their curves (tiny runs: still
    # falling or near chance, which it must say).
    assert "Trained long enough?" in text and "beta = 0.16" in text
    note = text.split("Trained long enough?")[1]
    assert "default point" in note and "beta = 0.32" not in note  # named and drawn once
    assert (tmp_path / "reports" / "sensitivity-curves.png").stat().st_size > 0

    claims = sensitivity.claims("smoke", None, overrides=TINY)
    assert len(claims) == 25
    measured = [c for c in claims if c.measured is not None]
    assert len(measured) == 6 and {c.verdict for c in claims} == {NOT_RUN}
    assert all(c.run_ids and c.seeds == 1 for c in measured)


def test_table_8_from_real_runs(in_store, tmp_path):
    uri, _ = in_store
    assert main(["table", "vat", "--scale", "smoke", *tiny_set(), "--out", "reports"]) == 0
    numbers = pd.read_csv(tmp_path / "reports" / "vat.csv")
    assert len(numbers) == 12 + 1
    done = numbers[numbers["seeds"] > 0]
    assert len(done) == 3
    for _, item in done.iterrows():
        assert item["mean"] == _metric(uri, item["MLflow runs"])
    comixup = numbers[numbers["method"] == "comixup"].iloc[0]
    assert comixup["paper"] == 19.87 and comixup["seeds"] == 1
    first = numbers[(numbers["alpha"] == 0.001) & (numbers["power iterations"] == 0)]
    assert first["paper"].tolist() == [23.38, 23.62]

    text = (tmp_path / "reports" / "vat.md").read_text()
    assert re.search(r"\| Co-Mixup \(main sweep\) .*\| 19\.87 ", text)
    alpha_rows = [line for line in text.splitlines() if re.match(r"\| VAT +\| +0\.1 ", line)]
    assert len(alpha_rows) == 4 and sum("**" in line.split("|")[6] for line in alpha_rows) == 1
    assert "Missing or unfinished (10 of 12 runs" in text
    assert "Trained long enough?" in text and "VAT alpha 0.1, 1 update, eps 2" in text
    assert (tmp_path / "reports" / "vat-curves.png").stat().st_size > 0

    claims = vat.claims("smoke", None, overrides=TINY)
    assert len(claims) == 12 and sum(c.measured is not None for c in claims) == 2


def test_table_5_from_real_runs_through_the_alias(in_store, tmp_path):
    uri, words = in_store
    overrides = [*SPEECH_TINY, f"data_dir={words}"]
    selection = ["--scale", "smoke", *[arg for value in overrides for arg in ("--set", value)]]
    assert main(["table5", *selection, "--out", "reports"]) == 0
    numbers = pd.read_csv(tmp_path / "reports" / "speech.csv")
    assert len(numbers) == 12 and numbers["seeds"].sum() == 3
    done = numbers[numbers["seeds"] > 0]
    for _, item in done.iterrows():
        assert item["mean"] == _metric(uri, item["MLflow runs"], table5.METRIC)
    assert numbers["paper"].tolist() == [
        *paper.published("table5")["lenet"],
        *paper.published("table5")["vgg11"],
    ]
    text = (tmp_path / "reports" / "speech.md").read_text()
    lenet = [line for line in text.splitlines() if line.startswith("| LeNet")]
    assert "paper" in lenet[0] and "**10.67**" in lenet[0]
    lenet_means = done[done["model"] == "lenet"]["mean"]
    ties = (lenet_means == lenet_means.min()).sum()
    assert sum("**" in cell for cell in lenet[1].split("|")) == ties
    assert "Missing or unfinished (9 of 12 runs" in text
    assert "speech-builtin/vgg11/comixup seed 0 (to do)" in text

    claims = table5.claims("smoke", None, overrides=overrides)
    assert len(claims) == 12 and sum(c.measured is not None for c in claims) == 3


def test_a_grid_sweep_lists_its_distinct_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["sweep", "sensitivity", "--scale", "smoke", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 of 21 runs done; a launch would start the other 21" in out
    assert "comixup.partition_size=50" in out
