"""The runner end to end on each real dataset layout, through the real loaders, with tiny
fixtures holding the real number of classes (one or two batches each), and every model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from test_data import _accept_fixture_md5, _write_cifar100

from benchmarks.configs import apply_overrides, preset
from benchmarks.data import prepare_tiny_imagenet
from benchmarks.models import MODEL_NAMES
from benchmarks.runner.train import train

SMOKE = ["epochs=1", "limit_batches=1", "limit_eval_batches=1", "warmup_batches=0", "workers=0"]


def _jpeg(path: Path, size: int, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((size, size, 3), value % 256, dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _run(dataset: str, data_dir: Path, store: str, tmp_path: Path, *settings: str):
    config = apply_overrides(preset(dataset), [*SMOKE, f"data_dir={data_dir}", *settings])
    result = train(
        dataclasses.replace(config, phases=()), checkpoint_root=tmp_path / "ckpt", progress=False
    )
    run = MlflowClient(store).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert 0 <= result.metrics["test_top1_error"] <= 100
    return result


def test_cifar100_layout(store, tmp_path, monkeypatch):
    root = tmp_path / "cifar"
    _write_cifar100(root, n_train=8, n_test=4)
    _accept_fixture_md5(monkeypatch, root)
    _run("cifar100", root, store, tmp_path, "method=comixup", "batch_size=4", "width=4")


def test_tiny_imagenet_layout_after_preparation(store, tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    wnids = [f"n{index:08d}" for index in range(200)]
    annotations = []
    for index, wnid in enumerate(wnids):
        _jpeg(root / "train" / wnid / "images" / f"{wnid}_0.JPEG", 64, index)
        _jpeg(root / "val" / "images" / f"val_{index}.JPEG", 64, index)
        annotations.append(f"val_{index}.JPEG\t{wnid}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(annotations) + "\n")
    assert prepare_tiny_imagenet(root) == 200
    _run("tiny-imagenet", root, store, tmp_path, "method=puzzle_mix", "batch_size=4", "width=4")


def test_imagenet_layout(store, tmp_path):
    root = tmp_path / "imagenet"
    for index in range(1000):
        wnid = f"n{index:08d}"
        _jpeg(root / "train" / wnid / f"{wnid}_0.JPEG", 40, index)
        _jpeg(root / "val" / wnid / f"ILSVRC2012_val_{index:08d}.JPEG", 40, index)
    _run("imagenet", root, store, tmp_path, "method=cutmix", "batch_size=2")


@pytest.mark.parametrize(
    "model", [name for name in MODEL_NAMES if name not in ("resnet50", "lenet", "vgg11")]
)
def test_every_cifar_model_trains_a_batch(store, tmp_path, model):
    width = {"preactresnet18": 4, "wrn16_8": 16, "resnext29_4_24": 8}[model]
    config = apply_overrides(
        preset("builtin"),
        [*SMOKE, f"model={model}", f"width={width}", "batch_size=8", "method=manifold_mixup"],
    )
    result = train(config, checkpoint_root=tmp_path / "ckpt", progress=False)
    assert np.isfinite(result.metrics["train_loss"])
