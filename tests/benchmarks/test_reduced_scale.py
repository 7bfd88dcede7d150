"""``--scale reduced``: every experiment expands, the experiments that extend main's runs share
them (one training each), and the choices the issue fixes hold (significance's 5 seeds)."""

from __future__ import annotations

import pytest

from benchmarks.sweep.experiments import (
    COMIXUP_REDUCED,
    EXPERIMENTS,
    REDUCED,
    REDUCED_SENSITIVITY_ROWS,
    expand,
    get_experiment,
)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_experiment_expands_at_the_reduced_scale(name: str):
    runs = expand(name, scale="reduced")
    assert runs and all(run.scale == "reduced" for run in runs)
    if get_experiment(name).kind == "train" and name not in ("speech", "sensitivity"):
        assert all(run.config.epochs == REDUCED["epochs"] for run in runs)
        assert all(run.config.milestones == REDUCED["milestones"] for run in runs)


def test_significance_and_table_7_extend_mains_runs_instead_of_training_them_again():
    main = {run.key for run in expand("main", scale="reduced")}
    significance = expand("significance", scale="reduced")
    assert {run.seed for run in significance} == set(range(5))
    shared = [run for run in significance if run.key in main]
    assert len(shared) == 2 * 3  # seeds 0-2 of both methods are main's own runs
    assert all(run.experiment == "main" for run in significance)


def test_table_7_runs_its_own_schedule_and_reads_mains_runs_at_it():
    sensitivity = expand("sensitivity", scale="reduced")
    assert {run.config.epochs for run in sensitivity} == {COMIXUP_REDUCED["epochs"]}
    main_30 = {run.key for run in expand("main", scale="reduced")}
    main_20 = {run.key for run in expand("main", scale="reduced", schedule_of="sensitivity")}
    assert not main_30 & main_20  # another schedule is another run
    defaults = {run.key for run in sensitivity if not run.changes}
    assert defaults and defaults <= main_20
    # one other value per row, 2 seeds
    assert len(sensitivity) == len(defaults) + len(REDUCED_SENSITIVITY_ROWS) * 2


def test_the_paper_and_smoke_grids_are_untouched_by_the_reduced_cells():
    assert len(expand("sensitivity", scale="paper", seeds=1)) == 21
    assert len(expand("vat", scale="paper", seeds=1)) == 12
    assert len(expand("vat", scale="reduced", seeds=1)) == 3


def test_an_unknown_scale_names_the_scales():
    with pytest.raises(ValueError, match="paper, reduced, smoke"):
        expand("main", scale="medium")


def test_table_7s_baseline_column_reads_mains_runs_at_table_7s_schedule(tmp_path):
    from mlflow.tracking import MlflowClient

    from benchmarks.tables.sensitivity import baseline_runs

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}")
    finished, states = baseline_runs("reduced", client=client)
    assert finished.empty and states
    setting = get_experiment("sensitivity").settings_at("reduced")[0].name
    expected = {
        run.key
        for run in expand("main", scale="reduced", schedule_of="sensitivity")
        if run.setting == setting
    }
    assert {state.run.key for state in states} == expected
    assert {state.run.config.epochs for state in states} == {COMIXUP_REDUCED["epochs"]}
