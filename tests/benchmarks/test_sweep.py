"""The sweep without a cluster: experiments, run states, the local launcher end to end with
real runs in a private MLflow store, and the statistics of the tables."""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats
from sweep_fixtures import TINY, tiny_set

from benchmarks.cli import main
from benchmarks.errors import UserError
from benchmarks.sweep import launch, tags
from benchmarks.sweep.experiments import Run, expand
from benchmarks.sweep.job import SweepJob
from benchmarks.sweep.launch import threads_per_job
from benchmarks.sweep.state import run_states
from benchmarks.tables import significance as sig
from benchmarks.tables.main_table import main_table
from benchmarks.tables.sweep_runs import finished


def test_the_paper_grids():
    main_runs = expand("main")
    assert len(main_runs) == 5 * 6 * 3
    assert len({run.key for run in main_runs}) == len(main_runs)
    assert {run.config.epochs for run in main_runs if run.setting.startswith("cifar100")} == {300}
    imagenet = [run for run in main_runs if run.setting == "imagenet/resnet50"]
    assert imagenet and all(run.config.phases for run in imagenet)
    significance = expand("significance")
    assert len(significance) == 2 * 10
    assert {run.method for run in significance} == {"puzzle_mix", "comixup"}
    assert len(expand("significance", seeds=4)) == 8
    smoke = expand("significance", scale="smoke")
    assert all(run.config.dataset == "builtin" for run in smoke)


def test_the_key_names_what_changes_the_result():
    [run] = expand("significance", seeds=1)[:1]
    [moved] = expand("significance", seeds=1, overrides=["data_dir=/elsewhere"])[:1]
    [changed] = expand("significance", seeds=1, overrides=["lr=0.1"])[:1]
    assert run.key == moved.key
    assert run.key != changed.key


def test_an_unknown_experiment_names_the_known_ones():
    with pytest.raises(ValueError, match="experiments: main, significance"):
        expand("mian")


def test_the_grid_fields_cannot_be_overridden():
    with pytest.raises(ValueError, match="grid sets"):
        expand("significance", overrides=["seed=3"])


def test_slurm_options():
    assert launch.slurm_minutes("90") == 90
    assert launch.slurm_minutes("02:30:00") == 150
    assert launch.slurm_minutes("1-00:00:00") == 1440
    assert launch.slurm_minutes("1-02") == 1560
    with pytest.raises(ValueError, match="D-HH:MM:SS"):
        launch.slurm_minutes("soon")
    options = launch.SlurmOptions(partition="gpu", time="01:00:00", additional={"qos": "high"})
    assert options.parameters() == {
        "slurm_partition": "gpu",
        "timeout_min": 60,
        "slurm_additional_parameters": {"qos": "high"},
    }
    # Never submitit's 5-minute default, which would requeue a long run every few minutes.
    assert launch.SlurmOptions().parameters()["timeout_min"] == 24 * 60


def test_a_slurm_sweep_refuses_a_local_store(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["sweep", "significance", "--scale", "smoke", "--launcher", "slurm"]) == 2
    error = capsys.readouterr().err
    assert "mlflow server" in error and "--artifacts-destination" in error


def test_holm_adjusts_step_down():
    # p sorted 0.01, 0.02, 0.03, 0.04 with m = 4: 0.04, 0.06, 0.06 (monotone), 0.06
    adjusted = sig.holm([0.03, 0.01, math.nan, 0.04, 0.02])
    assert adjusted[1] == pytest.approx(0.04)
    assert adjusted[4] == pytest.approx(0.06)
    assert adjusted[0] == pytest.approx(0.06)
    assert adjusted[3] == pytest.approx(0.06)
    assert math.isnan(adjusted[2])


def test_seeds_for_power_against_the_textbook_value_and_a_simulation():
    # dz = 0.5, two-sided 0.05, power 0.8: 34 pairs (Cohen; G*Power gives the same)
    assert sig.seeds_for_power(0.5) == 34
    n = int(sig.seeds_for_power(0.8))
    assert sig.paired_power(0.8, n) >= 0.8 > sig.paired_power(0.8, n - 1)
    rng = np.random.default_rng(0)
    diffs = rng.normal(0.8, 1.0, size=(4000, n))
    p = stats.ttest_1samp(diffs, 0.0, axis=1).pvalue
    assert abs((p < 0.05).mean() - sig.paired_power(0.8, n)) < 0.03


def test_paired_test_against_the_definitions():
    first = np.array([20.1, 20.9, 20.4, 21.0, 20.6])
    second = np.array([19.8, 20.1, 20.3, 20.2, 19.9])
    result = sig.paired_test(first, second)
    diff = first - second
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(len(diff)))
    assert result["T"] == pytest.approx(t)
    assert result["dof"] == 4
    assert result["P one-sided"] == pytest.approx(result["P two-sided"] / 2)
    half = stats.t.ppf(0.975, 4) * diff.std(ddof=1) / math.sqrt(5)
    assert result["CI low"] == pytest.approx(diff.mean() - half)
    assert result["Wilcoxon P"] == pytest.approx(stats.wilcoxon(diff).pvalue)


def test_the_papers_p_is_one_sided():
    row = sig.paper_row()
    assert round(row["P one-sided"], 2) == 0.02
    assert round(row["P two-sided"], 2) == 0.05


def test_local_sweep_status_rerun_and_tables(tmp_path, monkeypatch, capsys):
    """Four real runs on this machine's processes, two at a time; then the status, a rerun
    that launches nothing, and both tables from the runs."""
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    selection = ["significance", "--scale", "smoke", "--seeds", "2", *tiny_set()]
    assert main(["sweep", *selection, "--jobs", "2"]) == 0
    assert "4 done, 0 failed" in capsys.readouterr().out
    assert main(["sweep", *selection, "--status"]) == 0
    status = capsys.readouterr().out
    assert "4 of 4 runs done" in status and "to do" not in status
    assert main(["sweep", *selection]) == 0
    assert "nothing to launch" in capsys.readouterr().out

    runs = expand("significance", scale="smoke", seeds=2, overrides=tiny_set()[1::2])
    states = run_states(runs, MlflowClient(store))
    tidy = finished(states)
    assert len(tidy) == 4
    for state in states:
        run = MlflowClient(store).get_run(state.run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["sweep.key"] == state.run.key
        # Two at a time: each run had its share of the cores, not all of them.
        assert f", {threads_per_job(2)} threads)" in run.data.tags["device"]

    assert main(["ttest", *selection[1:], "--out", "reports"]) == 0
    text = (tmp_path / "reports" / "significance.md").read_text()
    assert "paper, Section 6.5" in text and "this suite" in text

    _, numbers = main_table(tidy, [("builtin/preactresnet18", "comixup")])
    cell = tidy[tidy["method"] == "comixup"]["median10"]
    assert numbers.loc[0, "median10 mean"] == pytest.approx(cell.mean())
    assert numbers.loc[0, "seeds"] == 2
    assert set(numbers.loc[0, "MLflow runs"].split()) == set(
        tidy[tidy["method"] == "comixup"]["run_id"]
    )
    pairs = sig.all_pairs(tidy, ["puzzle_mix", "comixup"])
    assert list(pairs["pairs"]) == [2]


def test_a_table_names_its_missing_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["table", "main", "--scale", "smoke", "--out", "reports"]) == 0
    text = (tmp_path / "reports" / "main.md").read_text()
    assert "Missing or unfinished (24 of 24 runs" in text
    assert "builtin/preactresnet18/cutmix seed 1 (to do)" in text


def test_a_run_with_two_processes_trains_under_torchrun(tmp_path, monkeypatch, capsys):
    """--processes-per-run 2: each run is one torchrun of two gloo processes on the CPU (as a
    job with two GPUs runs one process per GPU), logging one MLflow run of world size 2."""
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    selection = ["significance", "--scale", "smoke", "--seeds", "1", *tiny_set()]
    assert main(["sweep", *selection, "--processes-per-run", "2"]) == 0
    assert "2 done, 0 failed" in capsys.readouterr().out
    runs = expand("significance", scale="smoke", seeds=1, overrides=tiny_set()[1::2])
    client = MlflowClient(store)
    for state in run_states(runs, client):
        assert state.state == "done"
        run = client.get_run(state.run_id)
        assert run.data.params["world_size"] == "2"
        assert run.data.tags["sweep.key"] == state.run.key
        # Two at a time: each run had its share of the cores, not all of them.
        assert f", {threads_per_job(2)} threads)" in run.data.tags["device"]
        steps = [m.step for m in client.get_metric_history(state.run_id, "test_top1_error")]
        assert sorted(steps) == [0, 1]
    assert len(client.search_runs([e.experiment_id for e in client.search_experiments()])) == 2


OLD_JOB = Path(__file__).parent / "old_jobs" / "sweepjob-180fda1.pkl"
"""A :class:`SweepJob` pickled by the code of commit 180fda1 (whose tags reached the runner
through an environment variable and an MLflow plugin): the smoke significance sweep's
puzzle_mix seed 0, tiny, its checkpoint root and store under /old."""


def test_a_job_pickled_by_the_old_code_runs_and_its_run_carries_the_sweep_tags(
    tmp_path, monkeypatch
):
    """A requeued Slurm job, or one waiting in a queue, was pickled by the code it was
    submitted with: it unpickles into today's classes and runs, tagged as before."""
    job = pickle.loads(OLD_JOB.read_bytes())
    assert type(job) is SweepJob and type(job.run) is Run
    assert job.run.key == expand("significance", scale="smoke", seeds=1, overrides=TINY)[0].key
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    job.checkpoint_root, job.tracking_uri = tmp_path / "checkpoints", store
    outcome = job()
    run = MlflowClient(store).get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    expected = tags.run_tags(job.run)
    assert {key: run.data.tags.get(key) for key in expected} == expected
    assert not any(name.startswith("COMIXUP_SWEEP") for name in os.environ)
    [state] = run_states([job.run], MlflowClient(store))
    assert state.state == "done" and state.run_id == outcome.run_id


def test_a_run_that_fails_before_training_gets_a_failed_run_with_its_sweep_tags(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    run = expand("significance", scale="smoke", seeds=1, overrides=TINY)[0]
    nowhere = dataclasses.replace(run.config, dataset="cifar100", data_dir=str(tmp_path / "no"))
    broken = dataclasses.replace(run, config=nowhere)
    with pytest.raises(UserError):
        SweepJob(broken, tmp_path / "checkpoints", store)()
    [state] = run_states([broken], MlflowClient(store))
    assert state.state == "failed" and "CIFAR-100 not found" in state.error
    logged = MlflowClient(store).get_run(state.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags[tags.KEY] == broken.key
    assert logged.data.tags[tags.METHOD] == "puzzle_mix"
