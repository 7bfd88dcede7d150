"""``--set`` overrides: typed and range-checked before any run, per-method settings named."""

from __future__ import annotations

import pytest

from benchmarks.cli import main
from benchmarks.configs import apply_overrides, preset
from benchmarks.configs.base import resolve_overrides
from benchmarks.models import check_model_fits

BASE = preset("builtin")


def test_values_take_their_fields_types():
    config = apply_overrides(
        BASE, ["epochs=3", "lr=1", "milestones=[2, 5]", "limit_batches=null", "amp=true"]
    )
    assert config.epochs == 3 and config.lr == 1.0 and isinstance(config.lr, float)
    assert config.milestones == (2, 5) and config.limit_batches is None and config.amp is True
    config = apply_overrides(
        BASE, ['method="cutmix"', "method.alpha=0.5", "cutmix.per_sample=true"]
    )
    assert config.method_settings == {"alpha": 0.5, "per_sample": True}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("milestones=abc", "milestones takes a list of integers, got 'abc'"),
        ("batch_size=0", "batch_size must be a positive integer, got 0"),
        ("limit_batches=0", "limit_batches must be a positive integer or null, got 0"),
        ("epochs=0", "epochs must be a positive integer, got 0"),
        ("epochs=abc", "epochs takes an integer, got 'abc'"),
        ("seed=1.5", "seed takes an integer, got '1.5'"),
        ("workers=-1", "workers must be a non-negative integer, got -1"),
        ("milestones=[5, 2]", "milestones must be ascending"),
        ("lr=-0.1", "lr must be a number >= 0"),
        ("lr=inf", "lr takes a number"),
        ("amp=yes", "amp takes true or false"),
        ("nonsense=1", "unknown setting; settings are"),
    ],
)
def test_bad_training_values_are_refused_naming_the_key(assignment, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        apply_overrides(BASE, [assignment])


def test_method_settings_are_typed_and_must_exist():
    with pytest.raises(ValueError, match="alpha takes a number, got 'x'"):
        apply_overrides(BASE, ['method="cutmix"', "method.alpha=x"])
    with pytest.raises(ValueError, match="method 'vanilla' has no setting 'alpha'"):
        apply_overrides(BASE, ['method="vanilla"', "method.alpha=0.2"])
    with pytest.raises(ValueError, match="method 'cutmix' is not being run"):
        apply_overrides(BASE, ['method="comixup"', "cutmix.alpha=0.2"])
    with pytest.raises(ValueError, match="neither a setting nor a method"):
        apply_overrides(BASE, ["cutmixx.alpha=0.2"])


def test_a_comparison_names_the_method_of_each_setting():
    config, settings = resolve_overrides(
        BASE, ["cutmix.alpha=0.2", "comixup.tau=0.8", "epochs=2"], ["vanilla", "cutmix", "comixup"]
    )
    assert settings == {"cutmix": {"alpha": 0.2}, "comixup": {"tau": 0.8}}
    assert config.epochs == 2 and config.method_settings == {}
    with pytest.raises(ValueError, match=r"runs several methods .*--set vanilla\.alpha"):
        resolve_overrides(BASE, ["method.alpha=0.2"], ["vanilla", "cutmix"])


def test_compare_refuses_bad_settings_before_training(tmp_path, monkeypatch, capsys):
    """A setting for a method not run, or one its config refuses, stops compare before any
    MLflow run exists, with one line and exit status 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for assignment, message in [
        ("cutmix.alpha=0.2", "not being run"),
        ("comixup.beta=-1", "beta"),
    ]:
        argv = ["compare", "--methods", "vanilla", "comixup", "--set", assignment, "--epochs", "1"]
        assert main(argv) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("comixup-bench compare: error: ") and message in line
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "checkpoints").exists()


def test_a_model_that_does_not_fit_the_data_is_refused():
    check_model_fits("preactresnet18", 3, "builtin")
    check_model_fits("lenet", 1, "speech-builtin")
    with pytest.raises(ValueError, match=r"model .lenet. takes 1-channel inputs .* preactresnet18"):
        check_model_fits("lenet", 3, "builtin")
    with pytest.raises(ValueError, match="use --model with one of lenet, vgg11"):
        check_model_fits("resnet50", 1, "speechcommands")
