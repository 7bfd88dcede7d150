"""A new method is one file plus one registry line: nothing in the command line, the tables
or the sweep names the methods but the registry (``benchmarks.methods.METHODS``)."""

from __future__ import annotations

import sys

import pytest
from mlflow.tracking import MlflowClient

from benchmarks import cli, methods

METHOD_FILE = '''
"""Cross-entropy with label smoothing: a throw-away method, written by a test."""

from dataclasses import dataclass, field

import torch.nn.functional as F

from comixup.method import CLEAN_ACCURACY, top1_accuracy

SEEN = []  # (batch size, smoothing) of every loss computed


@dataclass(frozen=True)
class SmoothedConfig:
    smoothing: float = 0.1


@dataclass
class SmoothedMethod:
    num_classes: int
    config: SmoothedConfig = field(default_factory=SmoothedConfig)

    def loss(self, model, x, y, *, generator=None, grad_scale=None):
        logits = model(x)
        SEEN.append((x.shape[0], self.config.smoothing))
        loss = F.cross_entropy(logits, y, label_smoothing=self.config.smoothing)
        return loss, {CLEAN_ACCURACY: top1_accuracy(logits, y)}
'''


@pytest.fixture
def smoothed(tmp_path, monkeypatch):
    """The method's file on ``sys.path`` and its one line in the registry."""
    folder = tmp_path / "methods"
    folder.mkdir()
    (folder / "smoothed_ce.py").write_text(METHOD_FILE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "smoothed_ce", raising=False)
    # The one registry line:
    entry = methods.MethodEntry("smoothed_ce", "SmoothedMethod", "SmoothedConfig")
    monkeypatch.setitem(methods.METHODS, "smoothed_ce", entry)
    yield "smoothed_ce"
    sys.modules.pop("smoothed_ce", None)


def test_the_help_of_train_and_compare_lists_a_new_method(smoothed, capsys):
    for command in ("train", "compare"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        assert smoothed in capsys.readouterr().out, command


def test_a_new_method_trains_end_to_end_from_the_command_line(smoothed, store, capsys):
    argv = ["train", "--dataset", "builtin", "--method", smoothed, "--epochs", "1"]
    argv += ["--limit-batches", "2", "--width", "4", "--no-progress"]
    argv += ["--set", "method.smoothing=0.2", "--set", "limit_eval_batches=1"]
    assert cli.main(argv) == 0
    # The runner trained with this method's loss, at the setting given on the command line.
    assert sys.modules[smoothed].SEEN == [(64, 0.2), (64, 0.2)]  # the preset's batch of 64
    run_id = capsys.readouterr().out.split("MLflow run ")[1].split(":")[0]
    run = MlflowClient(store).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["method"] == smoothed
    assert run.data.params["method.smoothing"] == "0.2"
    for metric in ("train_loss", "train_clean_accuracy", "test_top1_error"):
        assert metric in run.data.metrics, sorted(run.data.metrics)
    assert run.data.metrics["train_loss"] > 0


def test_an_unregistered_method_is_refused_with_the_registered_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--method", "smoothed_ce"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'smoothed_ce'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="known methods: vanilla, input_mixup"):
        methods.get_method("smoothed_ce", num_classes=10)
