"""Speech runs end to end on a tone fixture in the Speech Commands layout: the runner's
validation split and early stopping and the Adam protocol (Table 5 from real runs of the speech
sweep: tests/benchmarks/test_sweep_tables.py)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from speech_fixture import write_speech_commands

from benchmarks import cli
from benchmarks.configs import apply_overrides, preset
from benchmarks.data import speech_builtin
from benchmarks.runner import train as train_module
from benchmarks.runner.optim import build_optimizer
from benchmarks.runner.train import train

TINY = [
    "epochs=2",
    "batch_size=10",
    "limit_batches=1",
    "warmup_batches=0",
    "width=2",
]


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


def test_the_fused_adam_takes_the_reference_update():
    """The speech configs' Adam is the fused kernel (for speed); its steps must be those of
    torch's reference loop with the same settings."""
    config = dataclasses.replace(preset("speech-builtin"), weight_decay=1e-3)
    generator = torch.Generator().manual_seed(0)
    fused_model = torch.nn.Linear(6, 4)
    reference_model = torch.nn.Linear(6, 4)
    reference_model.load_state_dict(fused_model.state_dict())
    fused = build_optimizer(fused_model, config)
    reference = torch.optim.Adam(
        reference_model.parameters(), lr=config.lr, weight_decay=1e-3, foreach=False
    )
    assert fused.defaults["fused"]
    for _ in range(5):
        inputs = torch.randn(8, 6, generator=generator)
        for model, optimizer in ((fused_model, fused), (reference_model, reference)):
            optimizer.zero_grad()
            model(inputs).square().mean().backward()
            optimizer.step()
    for ours, theirs in zip(fused_model.parameters(), reference_model.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs)


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


def test_table5_from_an_empty_store_names_every_run(store, tmp_path, capsys):
    assert cli.main(["table5", "--scale", "smoke", "--out", "r"]) == 0
    text = (tmp_path / "r" / "speech.md").read_text()
    assert "Missing or unfinished (12 of 12 runs" in text
    assert "speech-builtin/vgg11/comixup seed 0 (to do)" in text
    numbers = pd.read_csv(tmp_path / "r" / "speech.csv")
    assert (numbers["seeds"] == 0).all() and numbers["paper"].notna().all()
