"""The training runner end to end on the built-in image set: MLflow run contents, resume after a
kill, failures, and errors raised before any run starts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from benchmarks.configs import apply_overrides, preset
from benchmarks.runner import engine
from benchmarks.runner import train as train_module
from benchmarks.runner.tracking import TrackingServerError
from benchmarks.runner.train import NonFiniteLossError, checkpoint_path, train


def tiny_config(method: str = "comixup", **changes):
    config = apply_overrides(
        preset("builtin"),
        [
            f"method={method}",
            "epochs=2",
            "batch_size=20",
            "limit_batches=2",
            "limit_eval_batches=2",
            "width=4",
            "warmup_batches=1",
        ],
    )
    return dataclasses.replace(config, **changes)


def test_a_run_logs_params_tags_metrics_and_artifacts(store, tmp_path):
    result = train(tiny_config(), checkpoint_root=tmp_path / "ckpt", progress=False)
    client = MlflowClient(store)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["method"] == "comixup" and params["dataset"] == "builtin"
    assert params["lr"] == "0.05" and params["method.beta"] == "0.32"
    assert params["precision"] == "float32"
    tags = run.data.tags
    for key in ("git_commit", "device", "version.torch", "version.gco-wrapper", "seed", "method"):
        assert tags[key], key
    errors = client.get_metric_history(result.run_id, "test_top1_error")
    assert [m.step for m in errors] == [0, 1]
    assert all(0 <= m.value <= 100 for m in errors)
    for key in ("train_loss", "test_ece", "test_top5_error", "train_clean_accuracy", "lr"):
        assert client.get_metric_history(result.run_id, key), key
    assert run.data.metrics["time_total_median_ms"] > 0
    assert run.data.metrics["time_saliency_median_ms"] > 0
    assert len(client.get_metric_history(result.run_id, "batch_loss")) == 4
    artifacts = {item.path for item in client.list_artifacts(result.run_id)}
    assert {"config.json", "learning_curves.png", "mixed_samples.png", "checkpoint"} <= artifacts
    assert [item.path for item in client.list_artifacts(result.run_id, "checkpoint")] == [
        "checkpoint/last.pt"
    ]


@pytest.mark.parametrize("method", ["comixup", "cutmix"])
def test_a_killed_run_resumes_into_the_same_run_with_the_same_result(store, tmp_path, method):
    config = tiny_config(method, epochs=3)
    uninterrupted = train(config, checkpoint_root=tmp_path / "a", progress=False)

    def kill(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 0):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint_root=tmp_path / "b", progress=False, batch_hook=kill)
    client = MlflowClient(store)
    killed = client.search_runs(
        [client.get_experiment_by_name("builtin").experiment_id], "attributes.status = 'KILLED'"
    )
    assert len(killed) == 1
    resumed = train(config, checkpoint_root=tmp_path / "b", progress=False)

    assert resumed.run_id == killed[0].info.run_id
    assert client.get_run(resumed.run_id).info.status == "FINISHED"
    for key in ("train_loss", "test_top1_error", "test_loss", "test_ece"):
        assert resumed.history[key] == uninterrupted.history[key], key
    steps = [m.step for m in client.get_metric_history(resumed.run_id, "test_top1_error")]
    assert steps == [0, 1, 2]
    assert len(client.get_metric_history(resumed.run_id, "batch_loss")) == 6


def test_a_finished_run_is_not_trained_again(store, tmp_path):
    config = tiny_config("vanilla", epochs=1)
    first = train(config, checkpoint_root=tmp_path, progress=False)
    again = train(config, checkpoint_root=tmp_path, progress=False)
    assert again.run_id == first.run_id
    assert again.history == first.history


def test_a_non_finite_loss_stops_the_run_and_marks_it_failed(store, tmp_path, monkeypatch):
    class Diverging:
        config = None

        def loss(self, model, x, y, *, generator=None, grad_scale=None):
            return model(x).sum() * float("nan"), {}

    monkeypatch.setattr(train_module, "get_method", lambda *args, **kwargs: Diverging())
    with pytest.raises(NonFiniteLossError, match=r"at epoch 1, batch 1 with method 'vanilla'"):
        train(tiny_config("vanilla"), checkpoint_root=tmp_path, progress=False)
    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("builtin").experiment_id])
    assert runs[0].info.status == "FAILED"
    assert "NonFiniteLossError" in runs[0].data.tags["error"]


def test_an_unreachable_tracking_server_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    config = tiny_config("vanilla")
    with pytest.raises(TrackingServerError, match=r"127\.0\.0\.1:9 is unreachable"):
        train(config, checkpoint_root=tmp_path, progress=False)
    assert not checkpoint_path(config, tmp_path).exists()


def test_a_missing_dataset_fails_before_any_run(store, tmp_path):
    from benchmarks.data import DatasetNotFoundError

    config = tiny_config("vanilla", dataset="cifar100", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError, match="download"):
        train(config, checkpoint_root=tmp_path, progress=False)
    assert not Path(tmp_path / "mlflow.db").exists() or not MlflowClient(store).search_experiments(
        filter_string="name = 'cifar100'"
    )


def test_overrides_are_typed_and_checked():
    config = apply_overrides(
        preset("cifar100"),
        ['method="cutmix"', "epochs=3", "lr=1", "milestones=[1, 2]", "method.alpha=0.5"],
    )
    assert config.epochs == 3 and config.lr == 1.0 and isinstance(config.lr, float)
    assert config.milestones == (1, 2)
    assert config.method_settings == {"alpha": 0.5}
    with pytest.raises(ValueError, match="--set epoch: unknown setting"):
        apply_overrides(preset("cifar100"), ["epoch=3"])
    with pytest.raises(ValueError, match="expects KEY=VALUE"):
        apply_overrides(preset("cifar100"), ["epochs"])


def test_every_method_trains_a_batch_on_the_builtin_set(store, tmp_path):
    from benchmarks.methods import METHOD_NAMES

    for method in METHOD_NAMES:
        config = tiny_config(method, epochs=1, limit_batches=1, limit_eval_batches=1)
        result = train(config, checkpoint_root=tmp_path, progress=False)
        assert torch.isfinite(torch.tensor(result.metrics["train_loss"])), method


def test_phases_switch_batch_size_and_interpolate_the_learning_rate(store, tmp_path, monkeypatch):
    from benchmarks.configs import Phase

    seen: list[tuple[int, float]] = []
    original = engine.training_step

    def recording_step(method, model, x, y, optimizer, *args, **kwargs):
        seen.append((x.shape[0], optimizer.param_groups[0]["lr"]))
        return original(method, model, x, y, optimizer, *args, **kwargs)

    monkeypatch.setattr(engine, "training_step", recording_step)
    phases = (
        Phase(0, 10, None, 0.08, (0, 1), (0.1, 0.2)),
        Phase(1, 20, None, 0.08, (1, 2), (0.05, 0.0)),
    )
    config = tiny_config("vanilla", phases=phases, limit_batches=2)
    result = train(config, checkpoint_root=tmp_path, progress=False)
    assert [size for size, _ in seen] == [10, 10, 20, 20]
    assert [round(lr, 6) for _, lr in seen] == [0.15, 0.2, 0.025, 0.0]
    assert result.history["lr"] == [0.2, 0.0]


def test_imagenet_preset_follows_the_official_three_phases():
    from benchmarks.runner.optim import active_phase, learning_rate

    config = preset("imagenet")
    assert [active_phase(config, e).batch_size for e in (0, 14, 15, 39, 40, 99)] == [
        1024,
        1024,
        448,
        448,
        448,
        448,
    ]
    assert active_phase(config, 0).crop_size == 128 and active_phase(config, 20).crop_size == 224
    assert learning_rate(active_phase(config, 0))(8) == pytest.approx(1.0)
    assert learning_rate(active_phase(config, 20))(27.5) == pytest.approx(0.11)
    assert learning_rate(active_phase(config, 95))(100) == pytest.approx(2e-5)
    assert not config.bn_weight_decay


def test_batch_norm_parameters_can_be_exempt_from_weight_decay():
    from benchmarks.models import get_model
    from benchmarks.runner.optim import build_optimizer

    model = get_model("preactresnet18", 10, width=4)
    optimizer = build_optimizer(model, dataclasses.replace(preset("imagenet"), lr=0.1))
    decayed, exempt = optimizer.param_groups
    assert exempt["weight_decay"] == 0.0 and decayed["weight_decay"] == 1e-4
    norm_params = sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for p in m.parameters()
    )
    assert sum(p.numel() for p in exempt["params"]) == norm_params


def test_mixed_precision_trains_every_method_and_is_logged(store, tmp_path):
    from benchmarks.methods import METHOD_NAMES

    for method in METHOD_NAMES:
        config = tiny_config(method, epochs=1, limit_batches=1, limit_eval_batches=1, amp=True)
        result = train(config, checkpoint_root=tmp_path, progress=False)
        assert torch.isfinite(torch.tensor(result.metrics["train_loss"])), method
        params = MlflowClient(store).get_run(result.run_id).data.params
        assert params["precision"] == "bfloat16"  # on the CPU; float16 on CUDA


def test_early_stopping_after_patience_epochs_without_improvement(store, tmp_path):
    # lr 0: the model never changes, so the test error never improves after the first epoch.
    config = tiny_config("vanilla", epochs=5, patience=1, lr=0.0)
    result = train(config, checkpoint_root=tmp_path, progress=False)
    assert len(result.history["test_top1_error"]) == 2
    tags = MlflowClient(store).get_run(result.run_id).data.tags
    assert tags["early_stopped_epoch"] == "1"
    again = train(config, checkpoint_root=tmp_path, progress=False)  # stays stopped
    assert again.history == result.history


def test_tags_are_set_at_creation_and_a_resumed_run_keeps_its_own(store, tmp_path):
    config = tiny_config("vanilla", epochs=2)

    def kill(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 0):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint_root=tmp_path, progress=False, batch_hook=kill, tags={"a": 1})
    client = MlflowClient(store)
    [killed] = client.search_runs([client.get_experiment_by_name("builtin").experiment_id])
    assert killed.info.status == "KILLED" and killed.data.tags["a"] == "1"
    resumed = train(config, checkpoint_root=tmp_path, progress=False, tags={"a": "2", "b": "3"})
    assert resumed.run_id == killed.info.run_id
    tags = client.get_run(resumed.run_id).data.tags
    assert tags["a"] == "1" and "b" not in tags
