"""Speech runs end to end on a tone fixture in the Speech Commands layout: the runner's
validation split and early stopping, the Adam protocol, and Table 5 from real tiny MLflow runs."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from speech_fixture import write_speech_commands

from benchmarks import cli
from benchmarks import train as train_module
from benchmarks.configs import apply_overrides, preset
from benchmarks.data import speech_builtin
from benchmarks.optim import build_optimizer
from benchmarks.suite import train_all
from benchmarks.tables import table5
from benchmarks.train import train

TINY = [
    "epochs=2",
    "batch_size=10",
    "limit_batches=1",
    "warmup_batches=0",
    "width=2",
]


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A private MLflow store and working directory for each test."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="module")
def words_dir(tmp_path_factory):
    """speech-builtin's ten words as tones (no espeak-ng needed): 30 train, 10 val, 10 test."""
    root = tmp_path_factory.mktemp("words")
    write_speech_commands(root, speech_builtin.WORDS)
    return root


def tiny_config(words_dir, *settings: str):
    return apply_overrides(preset("speech-builtin"), [*TINY, f"data_dir={words_dir}", *settings])


def test_the_speech_presets_follow_the_mixup_protocol():
    config = preset("speechcommands")
    assert (config.epochs, config.batch_size, config.patience) == (30, 100, 5)
    assert (config.optimizer, config.lr, config.weight_decay, config.milestones) == (
        "adam",
        0.001,
        0.0,
        (),
    )
    optimizer = build_optimizer(torch.nn.Linear(2, 2), config)
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.param_groups[0]["lr"] == 0.001
    assert isinstance(build_optimizer(torch.nn.Linear(2, 2), preset("builtin")), torch.optim.SGD)
    with pytest.raises(ValueError, match="optimizer must be"):
        dataclasses.replace(config, optimizer="rmsprop")


def test_early_stopping_watches_validation_and_reports_test_at_the_best_epoch(
    store, tmp_path, words_dir, monkeypatch
):
    # Top-1 errors in call order, test then validation each epoch: validation is best at
    # epoch 1, test at epoch 3.
    errors = iter([60, 50, 55, 40, 20, 45, 10, 45, 5, 45, 5, 45])
    real_evaluate = train_module.evaluate

    def scripted(*args, **kwargs):
        return real_evaluate(*args, **kwargs) | {"test_top1_error": float(next(errors))}

    monkeypatch.setattr(train_module, "evaluate", scripted)
    config = tiny_config(words_dir, "epochs=6", "patience=2", "method=cutmix")
    result = train(config, checkpoint_root=tmp_path / "ckpt", progress=False)

    assert result.history["val_top1_error"] == [50, 40, 45, 45]  # stopped after 2 stale epochs
    assert result.history["test_top1_error"] == [60, 55, 20, 10]
    assert result.history["test_top1_error_at_best_val"] == [60, 55, 55, 55]
    assert result.history["best_val_top1_error"] == [50, 40, 40, 40]
    client = MlflowClient(store)
    run = client.get_run(result.run_id)
    assert run.data.tags["early_stopped_epoch"] == "3"
    assert run.data.metrics["test_top1_error_at_best_val"] == 55
    assert run.data.params["optimizer"] == "adam"
    assert {"val_loss", "val_ece", "val_top5_error"} <= set(run.data.metrics)


def test_a_resumed_speech_run_keeps_the_test_error_at_the_best_epoch(store, tmp_path, words_dir):
    config = tiny_config(words_dir, "epochs=3", "method=vanilla")
    whole = train(config, checkpoint_root=tmp_path / "a", progress=False)

    def kill(epoch: int, batch: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint_root=tmp_path / "b", progress=False, batch_hook=kill)
    resumed = train(config, checkpoint_root=tmp_path / "b", progress=False)
    for key in ("test_top1_error_at_best_val", "val_top1_error", "train_loss"):
        assert resumed.history[key] == pytest.approx(whole.history[key]), key


def test_table5_from_tiny_real_runs(store, tmp_path, words_dir, capsys):
    base = tiny_config(words_dir)
    grid = table5.grid(models=("lenet", "vgg11"), methods=("vanilla", "cutmix"))
    run_ids = [result.run_id for result in train_all(base, grid, progress=False).values()]
    assert len(run_ids) == 4
    # A second seed of one cell, through the command line's training mode.
    args = ["table5", "--dataset", "speech-builtin", "--data-dir", str(words_dir)]
    args += ["--epochs", "2", "--limit-batches", "1", "--width", "2", "--seeds", "2"]
    args += ["--models", "lenet", "--methods", "vanilla", "--no-progress"]
    args += ["--set", "batch_size=10", "--set", "warmup_batches=0", "--out", "first"]
    assert cli.main(args) == 0

    client = MlflowClient(store)
    by_tags = table5.runs_by_tags(
        client, "speech-builtin", models=("lenet", "vgg11"), methods=("vanilla", "cutmix")
    )
    assert len(by_tags) == 5 and set(run_ids) <= set(by_tags["run_id"])
    by_id = table5.runs_by_id(client, run_ids)
    assert by_id["test_error"].between(0, 100).all()

    out = tmp_path / "reports"
    args = ["table5", "--dataset", "speech-builtin", "--from-mlflow", "--out", str(out)]
    assert cli.main([*args, "--models", "lenet", "vgg11", "--methods", "vanilla", "cutmix"]) == 0
    numbers = pd.read_csv(out / "table5.csv")
    assert list(numbers["model"]) == ["lenet", "lenet", "vgg11", "vgg11"]
    assert list(numbers["method"]) == ["vanilla", "cutmix", "vanilla", "cutmix"]
    assert list(numbers["seeds"]) == [2, 1, 1, 1]
    lenet_vanilla = by_tags[(by_tags.model == "lenet") & (by_tags.method == "vanilla")]
    assert numbers["mean"][0] == pytest.approx(lenet_vanilla["test_error"].mean())
    assert numbers["std"][0] == pytest.approx(lenet_vanilla["test_error"].std())
    assert numbers["std"][1:].isna().all()

    markdown = (out / "table5.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    header, lenet_row, vgg_row = rows
    assert "Vanilla" in header and "CutMix" in header
    for row, model in ((lenet_row, "lenet"), (vgg_row, "vgg11")):
        best = numbers[numbers.model == model]["mean"].min()
        assert f"**{best:.2f}" in row
    assert f"({numbers['std'][0]:.2f})" in lenet_row
    assert "wrote" in capsys.readouterr().out


def test_table5_from_an_empty_store_says_what_to_do(store, tmp_path, capsys):
    code = cli.main(["table5", "--dataset", "speech-builtin", "--from-mlflow", "--out", "r"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("comixup-bench table5: error: ")
    assert "no experiment 'speech-builtin'" in err[-1] and "without --from-mlflow" in err[-1]
    assert not (tmp_path / "r").exists()
