"""The reproduction report and the timing sweep: the verdict rule, and both commands end to
end on a private MLflow store of real tiny runs made here (training, timing, analysis)."""

from __future__ import annotations

import math
import sys
import types

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from benchmarks.cli import main
from benchmarks.configs.base import Phase
from benchmarks.runner import timing
from benchmarks.sweep import experiments
from benchmarks.sweep.experiments import expand
from benchmarks.sweep.state import DONE, run_states
from benchmarks.tables import claims as claims_module
from benchmarks.tables import reproduction, timing_table
from benchmarks.tables.claims import NO_PAPER_VALUE, NOT_REPRODUCED, NOT_RUN, REPRODUCED, Claim


def claim(**changes) -> Claim:
    fields = {"table": "T", "claim": "c", "paper": 20.0, "measured": 20.5, "unit": "%"}
    return Claim(**{**fields, "scale": "paper", "seeds": 3, "spread": 0.3, **changes})


# ------------------------------------------------------------------------ the verdict rule ----


def test_within_the_seeds_spread_is_reproduced_and_beyond_it_is_not():
    band = claims_module.SPREAD_FACTOR * 0.3
    inside, outside = band * (1 - 1e-6), band * (1 + 1e-6)  # the band's edge, either side
    assert claim(measured=20.0 + inside).verdict == REPRODUCED
    assert claim(measured=20.0 - inside).verdict == REPRODUCED
    assert claim(measured=20.0 + outside).verdict == NOT_REPRODUCED
    assert claim(measured=20.0 - outside).verdict == NOT_REPRODUCED


def test_smoke_and_missing_measurements_are_never_compared():
    assert claim(scale="smoke", measured=20.0).verdict == NOT_RUN
    assert claim(measured=None).verdict == NOT_RUN
    assert claim(measured=math.nan).verdict == NOT_RUN
    assert claim(paper=None).verdict == NO_PAPER_VALUE


def test_one_seed_has_no_spread_to_judge_by():
    assert claim(spread=None, measured=20.0).verdict == REPRODUCED
    assert claim(spread=None, measured=20.01).verdict == NOT_REPRODUCED
    assert claim(spread=math.nan, measured=20.01).verdict == NOT_REPRODUCED
    assert claim(measured=20.5).difference == pytest.approx(0.5)
    assert claim(paper=None).difference is None


# ------------------------------------------------------------------ the timing experiment ----


def test_the_timing_grid_is_one_run_per_setting():
    for scale in ("paper", "smoke"):
        runs = expand("timing", scale=scale)
        assert [run.setting for run in runs] == ["cifar100/preactresnet18", "imagenet/resnet50"]
        assert {run.method for run in runs} == {"all"} and len({r.key for r in runs}) == 2
    cifar, imagenet = (timing.setup_from_config(r.config) for r in expand("timing"))
    assert (cifar.batch_size, cifar.image_size, cifar.num_classes) == (100, 32, 100)
    assert (imagenet.batch_size, imagenet.image_size, imagenet.num_classes) == (112, 224, 1000)
    assert imagenet.width is None and imagenet.dataset == "imagenet"
    small = timing.setup_from_config(expand("timing", scale="smoke")[1].config)
    assert small.image_size == experiments.TIMING_SMOKE["imagenet"]["phases"][-1].crop_size


def test_timing_metrics_round_trip_and_the_ratio_spread():
    frame = pd.DataFrame(
        [
            {"method": "vanilla", "backend": "", "total (ms)": 10.0, "total std (ms)": 1.0},
            {"method": "comixup", "backend": "compiled", "total (ms)": 30.0, "total std (ms)": 6.0},
            {"method": "comixup (gco)", "backend": "gco", "total (ms)": 50.0, "total std (ms)": 0},
        ]
    )  # fmt: skip
    for phase in timing.PHASES:
        frame[f"{phase} (ms)"] = 1.0
    frame["total p90 (ms)"] = frame["total (ms)"]
    metrics = timing.frame_metrics(frame, {"comixup/vanilla": 3.0})
    assert metrics["time.comixup.compiled.total_ms"] == 30.0
    assert metrics["time.comixup.gco.total_ms"] == 50.0
    assert metrics["ratio.comixup_over_vanilla"] == 3.0
    parsed = timing_table.parse_metrics(metrics)
    assert set(parsed) == {("vanilla", ""), ("comixup", "compiled"), ("comixup", "gco")}
    tidy = pd.DataFrame(
        [
            {"setting": "s", "method": m, "backend": b, "total (ms)": v["total_ms"],
             "total std (ms)": v["total_std_ms"]}
            for (m, b), v in parsed.items()
        ]
    )  # fmt: skip
    value, spread = timing_table.ratio(tidy, "s", "comixup", "vanilla")
    assert value == 3.0  # the first backend's row, not gco's
    assert spread == pytest.approx(3.0 * math.hypot(0.1, 0.2))


# ------------------------------------------------------------- end to end, real tiny runs ----

TINY_SMOKE = {
    "epochs": 2, "batch_size": 16, "limit_batches": 2, "limit_eval_batches": 2, "width": 4,
    "warmup_batches": 0, "milestones": (1,),
}  # fmt: skip
TINY_TIMING = {
    "cifar100": {"batch_size": 4, "limit_batches": 2, "warmup_batches": 0, "width": 4},
    "imagenet": {
        "batch_size": 2, "limit_batches": 1, "warmup_batches": 0, "phases": (Phase(0, 2, 32),),
    },
}  # fmt: skip
"""Smaller smoke grids for the test (the launcher hands each run its config, so the spawned
workers need not see the patch; the tables expand the same patched grid)."""


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    """A store with the smoke significance sweep (2 seeds), the smoke timing sweep and two
    analysis sections, all real runs of reduced size; the working directory."""
    folder = tmp_path_factory.mktemp("report")
    patch = pytest.MonkeyPatch()
    patch.chdir(folder)
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    patch.setattr(experiments, "SMOKE", TINY_SMOKE)
    patch.setattr(experiments, "TIMING_SMOKE", TINY_TIMING)
    assert main(["sweep", "significance", "--scale", "smoke", "--seeds", "2", "--jobs", "2"]) == 0
    assert main(["sweep", "timing", "--scale", "smoke", "--jobs", "2"]) == 0
    assert main(["table2", "--seeds", "2", "--no-progress", "--out", "reports"]) == 0
    figure = ["figure2", "--trials", "1", "--levels", "2", "3", "--sizes", "5", "10"]
    assert main([*figure, "--no-progress", "--out", "reports"]) == 0
    yield folder
    patch.undo()


def test_timing_table_from_the_sweep(tiny_store, capsys):
    assert main(["sweep", "timing", "--scale", "smoke"]) == 0
    assert "nothing to launch" in capsys.readouterr().out
    assert main(["table", "timing", "--scale", "smoke", "--out", "reports"]) == 0
    table = pd.read_csv(tiny_store / "reports" / "timing.csv")
    assert set(table["setting"]) == {"cifar100/preactresnet18", "imagenet/resnet50"}
    states = run_states(expand("timing", scale="smoke"))
    for state in states:
        run = MlflowClient().get_run(state.run_id)
        assert run.data.tags["sweep.key"] == state.run.key
        assert run.data.tags["timer"] == "time.perf_counter" and run.data.tags["cpu_model"]
        comixup = table[(table["setting"] == state.run.setting) & (table["method"] == "comixup")]
        assert list(comixup["backend"]) == list(timing.BACKENDS)
        phases = [f"{p} (ms)" for p in timing.PHASES]
        assert comixup[phases].sum(axis=1).to_numpy() == pytest.approx(comixup["total (ms)"])
        first = comixup.iloc[0]["total (ms)"]
        assert run.data.metrics["time.comixup.compiled.total_ms"] == pytest.approx(first)
    text = (tiny_store / "reports" / "timing.md").read_text()
    assert "Ratios beside the paper's" in text and "2.58" in text and "Devices" in text


def _report(tiny_store, sources=None) -> tuple[str, pd.DataFrame]:
    reproduction.write_report(tiny_store / "reports", scale="smoke", seeds=2, sources=sources)
    text = (tiny_store / "reports" / "README.md").read_text()
    return text, pd.read_csv(tiny_store / "reports" / "claims.csv")


def test_the_report_lists_every_claim_with_its_runs(tiny_store, capsys):
    assert main(["report", "--scale", "smoke", "--seeds", "2", "--out", "reports"]) == 0
    text = (tiny_store / "reports" / "README.md").read_text()
    table = pd.read_csv(tiny_store / "reports" / "claims.csv")
    client = MlflowClient()

    t_claim = table[table["claim"].str.startswith("paired t-test T", na=False)].iloc[0]
    pairs = run_states(expand("significance", scale="smoke", seeds=2))
    assert all(state.state == DONE for state in pairs)
    assert set(t_claim["run_ids"].split()) == {state.run_id for state in pairs}
    assert t_claim["paper"] == 2.28 and t_claim["verdict"] == NOT_RUN  # smoke: never compared

    timing = table[table["table"] == "Timing"]
    assert len(timing) == 4
    assert set(timing["verdict"]) == {NOT_RUN, NO_PAPER_VALUE}  # CIFAR / vanilla: no paper value
    assert set(timing.loc[timing["paper"].notna(), "verdict"]) == {NOT_RUN}
    imagenet = timing[timing["claim"].str.contains("comixup / vanilla, imagenet")].iloc[0]
    metrics = client.get_run(imagenet["run_ids"]).data.metrics
    expected = metrics["time.comixup.compiled.total_ms"] / metrics["time.vanilla.total_ms"]
    assert imagenet["measured"] == pytest.approx(expected) and imagenet["paper"] == 2.58

    figure = table[table["claim"].str.contains("over m ", na=False)].iloc[0]
    assert figure["measured"] == pytest.approx(
        client.get_run(figure["run_ids"]).data.metrics["slope.m"]
    )
    table3 = table[table["table"] == "Table 3"].iloc[0]
    assert table3["verdict"] == NOT_RUN and pd.isna(table3["run_ids"])  # never logged here

    main_rows = table[table["table"] == "Table 1"]
    assert set(main_rows["verdict"]) == {NOT_RUN} and main_rows["measured"].isna().all()
    assert "![figure2.png](figure2.png)" in text
    assert "## Summary" in text and "comixup-bench sweep timing --scale smoke" in text
    for title in ("Table 6", "Table 7", "Table 8"):  # other helpers' modules, if merged
        section = table[table["table"].str.startswith(title)]
        assert len(section)


def test_absent_modules_are_not_built_and_paper_scale_claims_get_verdicts(tiny_store, monkeypatch):
    fake = types.ModuleType("fake_table")

    def fake_claims(scale, seeds):
        return [
            Claim("Table 9", "close", 20.0, 20.1, "%", "paper", seeds=3, spread=0.1),
            Claim("Table 9", "far", 20.0, 21.0, "%", "paper", seeds=3, spread=0.1),
        ]

    fake.claims = fake_claims
    monkeypatch.setitem(sys.modules, "fake_table", fake)
    sources = (
        reproduction.Source("Table 9: invented", "fake_table", "comixup-bench table9"),
        reproduction.Source("Table 10: missing", "benchmarks.tables.no_such_table", "-"),
        reproduction.Source("Table 11: no claims", "benchmarks.tables.paper", "-"),
    )
    text, table = _report(tiny_store, sources)
    verdicts = dict(zip(table["claim"].fillna(table["table"]), table["verdict"], strict=True))
    assert verdicts["close"] == REPRODUCED and verdicts["far"] == NOT_REPRODUCED
    assert verdicts["Table 10: missing"].startswith("not built")
    assert verdicts["Table 11: no claims"].startswith("not built")
    assert "1 of 3 tables built" in text
    assert "20.1 ± 0.1 %" in text
