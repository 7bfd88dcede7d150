"""The offline boxed set (digits on photographs) and ImageNet's validation boxes: layouts,
boxes, determinism, and the run from the set to its corrupted copies and a training run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from benchmarks.configs import apply_overrides, preset
from benchmarks.data import (
    BOXED_DATASETS,
    DatasetNotFoundError,
    build_boxed_test_set,
    build_datasets,
    builtin,
    check_dataset,
    dataset_spec,
)
from benchmarks.data import boxed_builtin as boxed
from benchmarks.data.boxes import Box, box_mask, read_boxes, write_boxes
from benchmarks.data.corruptions import prepare_corrupted_sets
from benchmarks.runner.train import train
from benchmarks.sweep.experiments import Setting, setting_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The set, made once for this module (a few seconds)."""
    root = tmp_path_factory.mktemp("boxed")
    boxed.make_boxed_digits(root)
    return root


@pytest.fixture(scope="module")
def corrupted(data_dir) -> dict[str, Path]:
    """Its clean and corrupted test sets, written once for this module."""
    return prepare_corrupted_sets("boxed-digits", data_dir, seed=3)


def test_layout_counts_and_labels_follow_builtins_split(data_dir):
    folder = data_dir / "boxed-digits"
    (_, train_labels), (_, test_labels) = builtin.load_split()
    for split, labels in (("train", train_labels), ("val", test_labels)):
        images = sorted((folder / split).glob("*/*.png"))
        assert len(images) == len(labels) == len(list((folder / split).glob("*.xml")))
        # Stems number the images in builtin's order; each sits in its digit's folder.
        by_index = {int(p.stem.split("_")[1]): int(p.parent.name) for p in images}
        assert [by_index[i] for i in range(len(labels))] == labels


def test_every_box_holds_the_digit_and_fits_the_image(data_dir):
    dataset = build_boxed_test_set("boxed-digits", data_dir)
    assert len(dataset) == builtin.TEST_SIZE
    for index in range(0, len(dataset), 37):
        image, _, boxes = dataset[index]
        assert image.shape == (3, 32, 32) and boxes.shape == (1, 4)
        xmin, ymin, xmax, ymax = boxes[0].tolist()
        assert 0 <= xmin < xmax <= 32 and 0 <= ymin < ymax <= 32
        # A pasted digit is 14-20 px: its box (the stroke's extent) is at most that.
        assert max(xmax - xmin, ymax - ymin) <= boxed.DIGIT_SIDE[1] - 1
        stem = dataset.samples[index][0].stem
        assert read_boxes(data_dir / "boxed-digits" / "val" / f"{stem}.xml") == (
            32,
            32,
            [Box(xmin, ymin, xmax, ymax)],
        )


def test_compose_boxes_exactly_the_opaque_pixels():
    photographs = [np.full((300, 300, 3), 200, dtype=np.uint8)]  # light grey
    digit = np.zeros((8, 8))
    digit[:, 3:5] = 1.0  # a bar: opaque columns in the middle, all rows
    image, box = boxed.compose(digit, photographs, np.random.default_rng(4))
    changed = np.abs(image - 200 / 255).max(axis=2) > 0.2  # where the dark digit covers
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    assert box == Box(cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    assert box.ymax - box.ymin >= 10 and box.xmax - box.xmin < 8  # tall and narrow
    again, same = boxed.compose(digit, photographs, np.random.default_rng(4))
    assert np.array_equal(image, again) and box == same


def test_the_set_is_reused_and_deterministic(data_dir, tmp_path):
    (first,) = (data_dir / "boxed-digits" / "val").glob("*/val_00000.png")
    mtime = first.stat().st_mtime_ns
    assert boxed.make_boxed_digits(data_dir) == data_dir / "boxed-digits"
    assert first.stat().st_mtime_ns == mtime
    # Rebuilt elsewhere: the same pixels (the draws are seeded, not the run's seed).
    again = boxed.make_boxed_digits(tmp_path) / first.relative_to(data_dir / "boxed-digits")
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(first)))


def test_normalisation_constants_are_the_train_statistics(data_dir):
    mean, std = boxed.train_statistics(data_dir)
    np.testing.assert_allclose(mean, boxed.SPEC.mean, atol=1e-3)
    np.testing.assert_allclose(std, boxed.SPEC.std, atol=1e-3)


def test_registered_for_training_and_the_smoke_sweep(data_dir):
    train_set, test_set = build_datasets("boxed-digits", data_dir)
    spec = dataset_spec("boxed-digits")
    check_dataset(train_set, spec, split="train")
    check_dataset(test_set, spec, split="test")
    image, label = test_set[0]
    assert image.shape == (3, 32, 32) and isinstance(label, int)
    assert abs(image.mean().item()) < 1.5  # normalised, not in [0, 1] only
    config = setting_config(Setting("boxed-digits", "preactresnet18"), "smoke")
    assert config.dataset == "boxed-digits" and config.width == 8
    assert "boxed-digits" in BOXED_DATASETS


def test_train_then_corrupt_end_to_end(data_dir, corrupted, store, tmp_path):
    settings = ["epochs=1", "limit_batches=2", "limit_eval_batches=1", "warmup_batches=0"]
    config = apply_overrides(
        preset("boxed-digits"),
        [*settings, "workers=0", "width=4", "batch_size=8", "method=cutmix"],
    )
    result = train(
        dataclasses.replace(config, data_dir=str(data_dir)),
        checkpoint_root=tmp_path / "ckpt",
        progress=False,
    )
    assert MlflowClient(store).get_run(result.run_id).info.status == "FINISHED"
    clean = build_boxed_test_set("boxed-digits", data_dir)
    noisy = type(clean)(corrupted["noise"], 32)
    image, label, boxes = clean[5]
    noisy_image, noisy_label, noisy_boxes = noisy[5]
    inside = box_mask(boxes, 32, 32)
    assert label == noisy_label and torch.equal(boxes, noisy_boxes)
    assert torch.equal(image[:, inside], noisy_image[:, inside])
    assert not torch.equal(image[:, ~inside], noisy_image[:, ~inside])


def test_a_dataset_without_boxes_is_refused():
    with pytest.raises(ValueError, match=r"no bounding boxes.*boxed-digits"):
        build_boxed_test_set("cifar100", "/nowhere")


# --- ImageNet's validation boxes ------------------------------------------------------------


def _imagenet_val(root: Path, *, with_boxes: bool = True) -> None:
    for index, wnid in enumerate(("n01440764", "n01443537")):
        stem = f"ILSVRC2012_val_{index + 1:08d}"
        path = root / "val" / wnid / f"{stem}.JPEG"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((300, 400, 3), 40 * index, dtype=np.uint8)).save(path)
        if with_boxes:
            write_boxes(
                root / "val" / f"{stem}.xml",
                filename=stem,
                width=400,
                height=300,
                boxes=[Box(100, 50, 300, 250)],
                name=wnid,
            )


def test_imagenet_validation_boxes_follow_the_evaluation_transform(tmp_path):
    _imagenet_val(tmp_path)
    dataset = build_boxed_test_set("imagenet", tmp_path)
    image, label, boxes = dataset[1]
    assert image.shape == (3, 224, 224) and label == 1
    # 400x300 -> 341x256 (Resize(256)); centre crop 224 at left round(58.5) = 58, top 16.
    scale_x, scale_y = 341 / 400, 256 / 300
    expected = [100 * scale_x - 58, 50 * scale_y - 16, 300 * scale_x - 58, 250 * scale_y - 16]
    np.testing.assert_allclose(boxes[0].numpy(), expected, rtol=1e-6)


def test_imagenet_without_boxes_says_where_to_get_them(tmp_path):
    _imagenet_val(tmp_path, with_boxes=False)
    with pytest.raises(DatasetNotFoundError, match=r"ILSVRC2012_bbox_val_v3\.tgz.*tar -xzf"):
        build_boxed_test_set("imagenet", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="validation images not found"):
        build_boxed_test_set("imagenet", tmp_path / "empty")


# --- the command ---------------------------------------------------------------------------


def test_prepare_boxes_writes_the_sets_once_and_says_where(data_dir, corrupted, tmp_path, capsys):
    from benchmarks.cli import main

    args = ["prepare-boxes", "--data-dir", str(data_dir), "--seed", "3"]
    marker = (corrupted["clean"].parent / "comixup-boxes.json").stat().st_mtime_ns
    assert main(args) == 0  # the module's sets, reused
    out = data_dir / "boxed-digits-corrupted-seed3"
    assert (out / "comixup-boxes.json").stat().st_mtime_ns == marker
    assert capsys.readouterr().out.split() == [
        word for name in ("clean", "replacement", "noise") for word in (f"{name}:", str(out / name))
    ]
    assert len(list((out / "noise").glob("*/*.png"))) == builtin.TEST_SIZE
    _imagenet_val(tmp_path, with_boxes=False)
    assert main(["prepare-boxes", "--dataset", "imagenet", "--data-dir", str(tmp_path)]) == 2
    assert "ILSVRC2012_bbox_val_v3.tgz" in capsys.readouterr().err
