"""Image datasets for the benchmarks: one registry, the real loaders and layouts.

``build_datasets(name, data_dir)`` returns ``(train_set, test_set)`` whose items are
``(normalised float image tensor, int label)``; ``dataset_spec(name)`` gives the class count,
input size and normalisation; ``check_dataset`` checks a built set against its spec before
training; ``make_loaders`` wraps both sets in loaders driven by one seed.

============= =================================== ========== ====================================
name          loader                              input      source of transforms and mean/std
============= =================================== ========== ====================================
cifar100      torchvision ``CIFAR100``            32x32      official ``load_data.py``
tiny-imagenet ``ImageFolder`` (after preparation) 64x64      official ``load_data.py``
imagenet      ``ImageFolder``                     224x224    torchvision reference recipe
builtin       scikit-learn digits, in memory      32x32      this package (``builtin.py``)
============= =================================== ========== ====================================

Nothing here downloads unless asked (``download=True``, CIFAR-100 only); missing data raises
``DatasetNotFoundError`` with the folder looked in and the command that gets the data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset

from benchmarks.data import builtin, cifar, imagenet, tiny_imagenet
from benchmarks.data.checks import check_dataset
from benchmarks.data.loaders import make_loaders
from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec
from benchmarks.data.tiny_imagenet import prepare_tiny_imagenet

__all__ = [
    "DATASET_NAMES",
    "DatasetNotFoundError",
    "DatasetSpec",
    "build_datasets",
    "check_dataset",
    "dataset_spec",
    "make_loaders",
    "prepare_tiny_imagenet",
    "set_train_crop",
]

_Builder = Callable[..., tuple[Dataset, Dataset]]
_REGISTRY: dict[str, tuple[DatasetSpec, _Builder]] = {
    "cifar100": (cifar.SPEC, cifar.build),
    "tiny-imagenet": (tiny_imagenet.SPEC, tiny_imagenet.build),
    "imagenet": (imagenet.SPEC, imagenet.build),
    "builtin": (builtin.SPEC, builtin.build),
}
DATASET_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def _entry(name: str) -> tuple[DatasetSpec, _Builder]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASET_NAMES)}.")
    return _REGISTRY[name]


def dataset_spec(name: str) -> DatasetSpec:
    """Class count, input size and normalisation of dataset ``name``.

    Raises:
        ValueError: for an unknown name (listing ``DATASET_NAMES``).
    """
    return _entry(name)[0]


def build_datasets(
    name: str, data_dir: str | Path | None, *, download: bool = False
) -> tuple[Dataset, Dataset]:
    """The train set (with training augmentation) and test set (eval transforms) of ``name``.

    ``data_dir`` is the folder holding the dataset (``builtin`` ignores it; None is fine there).
    ``download`` lets torchvision fetch CIFAR-100; for the others it can't, and the error says
    how to get them.

    Raises:
        ValueError: an unknown name, or no ``data_dir`` for a dataset read from disk.
        DatasetNotFoundError: the files are missing or not prepared; the message names the
            folder and the command that downloads or prepares them.
    """
    return _entry(name)[1](data_dir, download=download)


def set_train_crop(train_set: Dataset, name: str, crop_size: int, min_scale: float) -> None:
    """Switch an ImageNet training set to crops of ``crop_size`` (a phase of progressive
    resizing); other datasets have no such phases."""
    if name != "imagenet":
        raise ValueError(
            f"training phases with a crop size are defined for imagenet, not {name!r}."
        )
    train_set.transform = imagenet.train_transform(crop_size, min_scale)
