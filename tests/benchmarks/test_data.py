"""The image data layer: real loaders on tiny fixtures in each dataset's real on-disk layout."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler, Subset
from torchvision import datasets

from benchmarks.data import (
    DATASET_NAMES,
    DatasetNotFoundError,
    DatasetSpec,
    build_datasets,
    check_dataset,
    dataset_spec,
    make_loaders,
    prepare_tiny_imagenet,
)
from benchmarks.data import builtin as builtin_module

WNIDS = ("n01443537", "n01629819", "n01641577")


def _write_jpeg(path: Path, size: int, value: int, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    pixels = np.full((size, size, channels), value, dtype=np.uint8).squeeze()
    Image.fromarray(pixels, mode=mode).save(path, format="JPEG")


def _denormalise(image: torch.Tensor, spec: DatasetSpec) -> torch.Tensor:
    mean = torch.tensor(spec.mean).view(-1, 1, 1)
    std = torch.tensor(spec.std).view(-1, 1, 1)
    return image * std + mean


# --- the registry ------------------------------------------------------------------------------


def test_dataset_spec_of_every_name():
    sizes = {"cifar100": 32, "tiny-imagenet": 64, "imagenet": 224, "builtin": 32}
    classes = {"cifar100": 100, "tiny-imagenet": 200, "imagenet": 1000, "builtin": 10}
    sizes |= {"boxed-digits": 32}
    classes |= {"boxed-digits": 10}
    # Spectrograms: 1 channel, 160 frequency bins high (image_size) and 100 frames wide.
    sizes |= {"speechcommands": 160, "speech-builtin": 160}
    classes |= {"speechcommands": 30, "speech-builtin": 10}
    channels = {"speechcommands": 1, "speech-builtin": 1}
    for name in DATASET_NAMES:
        spec = dataset_spec(name)
        assert spec.name == name
        expected = (sizes[name], classes[name], channels.get(name, 3))
        assert (spec.image_size, spec.num_classes, spec.channels) == expected
        assert all(s > 0 for s in spec.std)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: cifar100, tiny-imagenet, imagenet"):
        dataset_spec("cifar10")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        build_datasets("mnist", None)


def test_file_backed_dataset_needs_a_data_dir():
    with pytest.raises(ValueError, match="--data-dir"):
        build_datasets("cifar100", None)


def test_spec_needs_one_mean_and_std_per_channel():
    with pytest.raises(ValueError, match="one value per channel"):
        DatasetSpec("x", 10, 32, 3, mean=(0.5,), std=(0.5, 0.5, 0.5))


# --- CIFAR-100 ---------------------------------------------------------------------------------


def _write_cifar100(root: Path, n_train: int = 12, n_test: int = 6) -> dict[str, np.ndarray]:
    """The python-pickle layout torchvision's CIFAR100 reads: cifar-100-python/{train,test,meta}."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)  # rows: R, G, B planes
        labels = [int(x) for x in rng.integers(0, 100, size=n)]
        entry = {
            "filenames": [f"img_{i}.png" for i in range(n)],
            "batch_label": f"{split} batch",
            "fine_labels": labels,
            "coarse_labels": [label // 5 for label in labels],
            "data": data,
        }
        (folder / split).write_bytes(pickle.dumps(entry))
        arrays[split] = data
    meta = {
        "fine_label_names": [f"class_{i}" for i in range(100)],
        "coarse_label_names": [f"super_{i}" for i in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta))
    return arrays


def _accept_fixture_md5(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Point torchvision's md5 table at the fixture's files.

    The fixture can't match the md5 sums of the real archive's pickles, which torchvision
    checks before loading; the check itself still runs, against the fixture's own sums.
    """
    folder = root / "cifar-100-python"

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    cls = datasets.CIFAR100
    monkeypatch.setattr(cls, "train_list", [["train", md5("train")]])
    monkeypatch.setattr(cls, "test_list", [["test", md5("test")]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5("meta")})


def test_cifar100_loads_the_pickle_layout(tmp_path, monkeypatch):
    arrays = _write_cifar100(tmp_path)
    _accept_fixture_md5(monkeypatch, tmp_path)
    spec = dataset_spec("cifar100")
    train, test = build_datasets("cifar100", tmp_path)
    assert (len(train), len(test)) == (12, 6)
    check_dataset(train, spec, split="train")
    check_dataset(test, spec, split="test")

    image, label = train[0]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert isinstance(label, int) and 0 <= label < 100
    # The test set is only normalised: undoing it gives the stored pixels back.
    image, label = test[1]
    stored = torch.from_numpy(arrays["test"][1].reshape(3, 32, 32)).float() / 255
    torch.testing.assert_close(_denormalise(image, spec), stored, atol=1e-5, rtol=0)
    assert label == test.targets[1]


def test_cifar100_missing_says_how_to_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="--download") as info:
        build_datasets("cifar100", tmp_path / "cifar")
    message = str(info.value)
    assert str(tmp_path / "cifar" / "cifar-100-python") in message
    assert "torchvision.datasets.CIFAR100(" in message and "download=True" in message


def test_cifar100_failing_md5_is_reported(tmp_path):
    _write_cifar100(tmp_path)  # the fixture's pickles fail the real archive's md5 sums
    with pytest.raises(DatasetNotFoundError, match="md5 check"):
        build_datasets("cifar100", tmp_path)


# --- Tiny-ImageNet -----------------------------------------------------------------------------


def _write_tiny_imagenet(root: Path, per_class: int = 2, official_layout: bool = False) -> dict:
    """The archive's layout: train/<wnid>/images/*.JPEG, val/images/*.JPEG, val_annotations.txt."""
    for c, wnid in enumerate(WNIDS):
        for i in range(per_class):
            # One grayscale image per class, as the real set has some.
            mode = "L" if i == 0 else "RGB"
            _write_jpeg(root / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", 64, 40 * c, mode)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    labels = {}
    lines = []
    for i in range(2 * len(WNIDS)):
        wnid = WNIDS[(i * 2) % len(WNIDS)]
        name = f"val_{i}.JPEG"
        folder = root / "val" / "images" / (wnid if official_layout else "")
        _write_jpeg(folder / name, 64, 10 * i)
        lines.append(f"{name}\t{wnid}\t0\t4\t60\t62")
        labels[name] = wnid
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    return labels


def test_tiny_imagenet_prepare_then_load(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    labels = _write_tiny_imagenet(root)
    with pytest.raises(DatasetNotFoundError, match="not sorted into class folders") as info:
        build_datasets("tiny-imagenet", root)
    assert f"comixup-bench prepare-tiny-imagenet --data-dir {root}" in str(info.value)

    assert prepare_tiny_imagenet(root) == len(labels)
    assert prepare_tiny_imagenet(root) == 0  # idempotent
    assert not (root / "val" / "images").exists()
    for name, wnid in labels.items():
        assert (root / "val" / wnid / "images" / name).is_file()

    train, val = build_datasets("tiny-imagenet", root)
    spec = dataclasses.replace(dataset_spec("tiny-imagenet"), num_classes=len(WNIDS))
    check_dataset(train, spec, split="train")
    check_dataset(val, spec, split="val")
    assert train.class_to_idx == val.class_to_idx  # same label for the same wnid in both splits
    for path, label in val.samples:
        assert val.classes[label] == labels[Path(path).name]
    image, _ = train[0]  # a grayscale JPEG, converted to RGB by ImageFolder
    assert image.dtype == torch.float32 and image.shape == (3, 64, 64)
    assert image.min() >= -1 and image.max() <= 1  # mean = std = 0.5 maps [0, 1] to [-1, 1]
    with pytest.raises(ValueError, match=r"has 3 classes .* expected 200"):
        check_dataset(val, dataset_spec("tiny-imagenet"), split="val")


def test_tiny_imagenet_prepare_accepts_the_official_layout(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    labels = _write_tiny_imagenet(root, official_layout=True)  # val/images/<wnid>/*.JPEG
    assert prepare_tiny_imagenet(root) == len(labels)
    assert not (root / "val" / "images").exists()
    _, val = build_datasets("tiny-imagenet", root)
    assert sorted(Path(path).name for path, _ in val.samples) == sorted(labels)


def test_tiny_imagenet_prepare_moves_nothing_when_an_image_is_missing(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    _write_tiny_imagenet(root)
    (root / "val" / "images" / "val_3.JPEG").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"1 validation image\(s\).*val_3.JPEG"):
        prepare_tiny_imagenet(root)
    assert len(list((root / "val" / "images").iterdir())) == 5  # untouched


def test_unprepared_tiny_imagenet_val_fails_the_check(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    _write_tiny_imagenet(root)
    val = datasets.ImageFolder(root / "val")  # what loading it unprepared would give
    with pytest.raises(
        ValueError,
        match=r"1 class \('images'\).*run `comixup-bench prepare-tiny-imagenet --data-dir .*`",
    ) as info:
        check_dataset(val, dataset_spec("tiny-imagenet"), split="val")
    assert f"--data-dir {root}`" in str(info.value)


def test_tiny_imagenet_missing_gives_the_download_command(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    with pytest.raises(DatasetNotFoundError, match="no downloader") as info:
        build_datasets("tiny-imagenet", root, download=True)
    message = str(info.value)
    assert "curl -LO http://cs231n.stanford.edu/tiny-imagenet-200.zip" in message
    assert f"unzip -q tiny-imagenet-200.zip -d {tmp_path}" in message
    assert f"prepare-tiny-imagenet --data-dir {root}" in message
    with pytest.raises(DatasetNotFoundError, match=r"val_annotations.txt does not exist"):
        prepare_tiny_imagenet(root)


def test_tiny_imagenet_one_folder_too_high_is_pointed_out(tmp_path):
    _write_tiny_imagenet(tmp_path / "tiny-imagenet-200")
    with pytest.raises(DatasetNotFoundError, match=r"pass --data-dir .*tiny-imagenet-200"):
        build_datasets("tiny-imagenet", tmp_path)


# --- ImageNet ----------------------------------------------------------------------------------


def _write_imagenet(root: Path, val_sorted: bool = True) -> None:
    for c, wnid in enumerate(WNIDS[:2]):
        for i in range(2):
            _write_jpeg(root / "train" / wnid / f"{wnid}_{i}.JPEG", 300 + 20 * i, 100 * c)
            name = f"ILSVRC2012_val_{2 * c + i:08d}.JPEG"
            _write_jpeg(root / "val" / (wnid if val_sorted else "") / name, 280, 100 * c)


def test_imagenet_loads_the_class_folder_layout(tmp_path):
    _write_imagenet(tmp_path)
    train, val = build_datasets("imagenet", tmp_path)
    spec = dataclasses.replace(dataset_spec("imagenet"), num_classes=2)
    check_dataset(train, spec, split="train")
    check_dataset(val, spec, split="val")
    assert (len(train), len(val)) == (4, 4)
    for dataset in (train, val):
        image, label = dataset[3]
        assert image.shape == (3, 224, 224) and image.dtype == torch.float32
        assert label == 1
    # Evaluation is deterministic: a flat image stays flat through resize and centre crop.
    image, _ = val[0]
    torch.testing.assert_close(
        _denormalise(image, spec), torch.zeros_like(image), atol=2 / 255, rtol=0
    )


def test_imagenet_missing_explains_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="has no train/ folder") as info:
        build_datasets("imagenet", tmp_path, download=True)
    message = str(info.value)
    assert f"{tmp_path}/train/<wnid>/*.JPEG" in message
    assert "ILSVRC2012_img_val.tar" in message and "torchvision.datasets.ImageNet(" in message
    assert "needs an account" in message


def test_imagenet_unsorted_val_points_at_valprep(tmp_path):
    _write_imagenet(tmp_path, val_sorted=False)
    with pytest.raises(DatasetNotFoundError, match=r"no class folders; .*valprep\.sh \| bash"):
        build_datasets("imagenet", tmp_path)


# --- the built-in digits -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[Dataset, Dataset]:
    return build_datasets("builtin", None)


def test_builtin_split_is_fixed_and_stratified(digits):
    train, test = digits
    spec = dataset_spec("builtin")
    assert (len(train), len(test)) == (1437, 360)
    check_dataset(train, spec, split="train")
    check_dataset(test, spec, split="test")
    train_counts = np.bincount(train.targets, minlength=10)
    test_counts = np.bincount(test.targets, minlength=10)
    assert (test_counts >= 35).all() and (test_counts <= 37).all()  # 20% of each class
    np.testing.assert_allclose(test_counts / (train_counts + test_counts), 0.2, atol=0.01)
    # The split ignores the global seed: building again gives the same test images.
    torch.manual_seed(123)
    _, again = build_datasets("builtin", "/ignored")
    assert again.targets == test.targets and torch.equal(again.images, test.images)


def test_builtin_normalisation_is_the_train_statistics(digits):
    train, test = digits
    spec = dataset_spec("builtin")
    mean, std = builtin_module.train_statistics()
    assert spec.mean == pytest.approx((mean,) * 3, abs=1e-6)
    assert spec.std == pytest.approx((std,) * 3, abs=1e-6)
    # Through the eval transform, the train images have mean 0 and std 1 per channel.
    normalised = torch.stack([test.transform(image.expand(3, -1, -1)) for image in train.images])
    torch.testing.assert_close(normalised.mean((0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalised.std((0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)


def test_builtin_items_are_normalised_rgb_digits(digits):
    train, test = digits
    spec = dataset_spec("builtin")
    low, high = (0 - spec.mean[0]) / spec.std[0], (1 - spec.mean[0]) / spec.std[0]
    torch.manual_seed(0)
    for dataset in (train, test):
        images = torch.stack([dataset[i][0] for i in range(0, len(dataset), 7)])
        assert images.shape[1:] == (3, 32, 32) and images.dtype == torch.float32
        assert images.min() >= low - 1e-5 and images.max() <= high + 1e-5
        assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
    # The test set is not augmented; the training crop shifts (and never flips) the digit.
    assert torch.equal(test[5][0], test[5][0])
    names = [type(t).__name__ for t in train.transform.transforms]
    assert names == ["RandomCrop", "Normalize"]


# --- check_dataset -----------------------------------------------------------------------------


class _Labelled(Dataset):
    def __init__(self, targets: list[int], classes: list[str]) -> None:
        self.targets, self.classes = targets, classes

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.tensor(float(index)), self.targets[index]


def test_check_dataset_errors():
    spec = DatasetSpec("toy", 3, 32, 1, mean=(0.0,), std=(1.0,))
    names = ["a", "b", "c"]
    check_dataset(_Labelled([0, 1, 2], names), spec, split="train")
    with pytest.raises(ValueError, match="the toy train set is empty"):
        check_dataset(_Labelled([], names), spec, split="train")
    with pytest.raises(ValueError, match=r"has 2 classes \('a', 'b'\), expected 3"):
        check_dataset(_Labelled([0, 1], names[:2]), spec, split="train")
    with pytest.raises(ValueError, match=r"labels in \[0, 3\], outside \[0, 2\]"):
        check_dataset(_Labelled([0, 3], names), spec, split="test")
    with pytest.raises(ValueError, match=r"labels in \[-1, 1\]"):
        check_dataset(_Labelled([-1, 1], names), spec, split="test")
    with pytest.raises(ValueError, match="needs `classes` and `targets`"):
        check_dataset(torch.utils.data.TensorDataset(torch.zeros(2)), spec, split="train")
    # A Subset is checked on its own items.
    check_dataset(Subset(_Labelled([0, 1, 7], names), [0, 1]), spec, split="train")
    with pytest.raises(ValueError, match="outside"):
        check_dataset(Subset(_Labelled([0, 1, 7], names), [2]), spec, split="train")


# --- make_loaders ------------------------------------------------------------------------------


def _order(loader) -> list[int]:
    return [int(i) for i in next(iter(loader))[1]]


def test_make_loaders_one_seed_one_order():
    train = _Labelled(list(range(50)), [str(i) for i in range(50)])
    first = _order(make_loaders(train, train, batch_size=16, seed=7)[0])
    assert first == _order(make_loaders(train, train, batch_size=16, seed=7)[0])
    assert first != _order(make_loaders(train, train, batch_size=16, seed=8)[0])
    assert first != list(range(16))

    train_loader, test_loader = make_loaders(train, train, batch_size=16, seed=7)
    epochs = [[int(i) for _, labels in train_loader for i in labels] for _ in range(2)]
    assert len(epochs[0]) == 48  # drop_last: 3 full batches
    assert epochs[0] != epochs[1]  # each epoch draws a new order from the generator
    assert [int(i) for _, labels in test_loader for i in labels] == list(range(50))  # in order


def test_make_loaders_seeds_augmentation_in_workers(digits):
    train, _ = digits

    def first_batch(seed: int) -> torch.Tensor:
        loader, _ = make_loaders(train, train, batch_size=8, seed=seed, workers=2)
        return next(iter(loader))[0]

    torch.testing.assert_close(first_batch(3), first_batch(3), atol=0, rtol=0)
    assert not torch.equal(first_batch(3), first_batch(4))


def test_make_loaders_rejects_bad_settings():
    train = _Labelled([0, 1, 2], ["a", "b", "c"])
    with pytest.raises(ValueError, match="fewer than batch_size 4"):
        make_loaders(train, train, batch_size=4, seed=0)
    assert len(make_loaders(train, train, batch_size=4, seed=0, drop_last=False)[0]) == 1
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        make_loaders(train, train, batch_size=0, seed=0)
    with pytest.raises(ValueError, match="init_process_group"):
        make_loaders(train, train, batch_size=1, seed=0, distributed=True)


def test_make_loaders_distributed_uses_a_seeded_sampler(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        train = _Labelled(list(range(40)), [str(i) for i in range(40)])
        loader, test_loader = make_loaders(train, train, batch_size=8, seed=5, distributed=True)
        assert isinstance(loader.sampler, DistributedSampler) and loader.sampler.seed == 5
        first = _order(loader)
        assert first == _order(
            make_loaders(train, train, batch_size=8, seed=5, distributed=True)[0]
        )
        loader.sampler.set_epoch(1)
        assert _order(loader) != first
        assert len(test_loader.dataset) == 40 and not isinstance(
            test_loader.sampler, DistributedSampler
        )
    finally:
        dist.destroy_process_group()
