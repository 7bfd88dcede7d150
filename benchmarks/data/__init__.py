"""Datasets for the benchmarks: one registry, the real loaders and layouts.

``build_datasets(name, data_dir)`` returns ``(train_set, test_set)`` whose items are
``(normalised float tensor, int label)``; ``build_splits`` adds the validation set of the
datasets that have one; ``dataset_spec(name)`` gives the class count, input size and
normalisation; ``check_dataset`` checks a built set against its spec before training;
``make_loaders`` wraps train and test sets in loaders driven by one seed.

============== ============================== ========= ======================================
name           loader                         input     source of transforms and features
============== ============================== ========= ======================================
cifar100       torchvision ``CIFAR100``       3x32x32   official ``load_data.py``
tiny-imagenet  ``ImageFolder`` (prepared)     3x64x64   official ``load_data.py``
imagenet       ``ImageFolder``                3x224x224 torchvision reference recipe
builtin        scikit-learn digits, in memory 3x32x32   this package (``builtin.py``)
boxed-digits   ``ImageFolder`` + XML boxes,   3x32x32   this package (``boxed_builtin.py``)
               made on first use
speechcommands torchaudio ``SPEECHCOMMANDS``  1x160x100 GCommandsPytorch spectrograms of the
               (v0.01, 30 words)                        mixup speech experiment (``speech.py``)
speech-builtin espeak-ng words, same layout   1x160x100 the same (``speech_builtin.py``)
============== ============================== ========= ======================================

The speech sets also have a validation split (the release's ``validation_list.txt``):
``build_splits`` returns it as ``Splits.val``; the image sets have none (``val`` is None).

Nothing here downloads unless asked (``download=True``: CIFAR-100 through torchvision, Speech
Commands through torchaudio); ``speech-builtin`` and ``boxed-digits`` are made locally on first
use. Missing
data raises ``DatasetNotFoundError`` with the folder looked in and the command that gets it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from benchmarks.data.boxes import BoxedImages
    from benchmarks.data.checks import check_dataset
    from benchmarks.data.loaders import make_loaders
    from benchmarks.data.speech_builtin import make_speech_builtin
    from benchmarks.data.tiny_imagenet import prepare_tiny_imagenet

__all__ = [
    "BOXED_DATASETS",
    "DATASETS",
    "DATASET_NAMES",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Splits",
    "build_boxed_test_set",
    "build_datasets",
    "build_splits",
    "check_dataset",
    "dataset_spec",
    "make_loaders",
    "make_speech_builtin",
    "prepare_tiny_imagenet",
    "set_train_crop",
]

_FUNCTIONS = {
    "check_dataset": "benchmarks.data.checks",
    "make_loaders": "benchmarks.data.loaders",
    "make_speech_builtin": "benchmarks.data.speech_builtin",
    "prepare_tiny_imagenet": "benchmarks.data.tiny_imagenet",
}
"""The functions this package exports from its modules, by the module that defines them."""


def __getattr__(name: str) -> Any:
    """``from benchmarks.data import make_loaders`` imports its module (and torch) then, not
    when the registry is read."""
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Splits(NamedTuple):
    """The sets of one dataset: train (with training augmentation), test, and validation where
    the dataset defines one (else None)."""

    train: Dataset
    test: Dataset
    val: Dataset | None = None


DATASETS: dict[str, str] = {
    "cifar100": "benchmarks.data.cifar",
    "tiny-imagenet": "benchmarks.data.tiny_imagenet",
    "imagenet": "benchmarks.data.imagenet",
    "builtin": "benchmarks.data.builtin",
    "boxed-digits": "benchmarks.data.boxed_builtin",
    "speechcommands": "benchmarks.data.speech",
    "speech-builtin": "benchmarks.data.speech_builtin",
}
"""The dataset registry: name -> the module that has its ``SPEC`` (:class:`DatasetSpec`) and
``build(data_dir, *, download) -> (train, test)`` or ``(train, test, val)``. The module is
imported on first use, so that naming the datasets imports no torch."""
DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)
"""The registered datasets, in the registry's order."""


def _module(name: str) -> ModuleType:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}.")
    return importlib.import_module(DATASETS[name])


def dataset_spec(name: str) -> DatasetSpec:
    """Class count, input size and normalisation of dataset ``name``.

    Raises:
        ValueError: for an unknown name (listing ``DATASET_NAMES``).
    """
    return _module(name).SPEC


def build_datasets(
    name: str, data_dir: str | Path | None, *, download: bool = False
) -> tuple[Dataset, Dataset]:
    """The train set (with training augmentation) and test set (eval transforms) of ``name``.

    ``data_dir`` is the folder holding the dataset (``builtin`` ignores it and
    ``speech-builtin`` has a default; None is fine there). ``download`` lets torchvision fetch
    CIFAR-100 and torchaudio Speech Commands; for the others it can't, and the error says how
    to get them. A validation split, where the dataset has one, is left out: see
    :func:`build_splits`.

    Raises:
        ValueError: an unknown name, or no ``data_dir`` for a dataset read from disk.
        DatasetNotFoundError: the files are missing or not prepared; the message names the
            folder and the command that downloads or prepares them.
    """
    splits = build_splits(name, data_dir, download=download)
    return splits.train, splits.test


def build_splits(name: str, data_dir: str | Path | None, *, download: bool = False) -> Splits:
    """Train, test and (where the dataset has one, else None) validation set of ``name``;
    arguments and errors as :func:`build_datasets`."""
    return Splits(*_module(name).build(data_dir, download=download))


BOXED_DATASETS: tuple[str, ...] = ("boxed-digits", "imagenet")
"""The datasets whose test images have ground-truth boxes (:func:`build_boxed_test_set`)."""


def build_boxed_test_set(
    name: str, data_dir: str | Path | None, *, boxes_dir: str | Path | None = None
) -> BoxedImages:
    """The test set of ``name`` with its boxes: items ``(image in [0, 1], label, boxes)``
    after the evaluation transform, not normalised (normalise with ``dataset_spec(name)``).
    ``boxes_dir`` is where ImageNet's box XMLs are, when not beside the class folders.

    Raises:
        ValueError: ``name`` has no boxes (listing ``BOXED_DATASETS``).
        DatasetNotFoundError: the images or the boxes are missing; the message says how to
            get them.
    """
    if name == "boxed-digits":
        from benchmarks.data import boxed_builtin

        return boxed_builtin.boxed_test_set(data_dir)
    if name == "imagenet":
        from benchmarks.data import imagenet_boxes

        return imagenet_boxes.val_boxes(data_dir, boxes_dir=boxes_dir)
    raise ValueError(
        f"dataset {name!r} has no bounding boxes; datasets with boxes: {', '.join(BOXED_DATASETS)}."
    )


def set_train_crop(train_set: Dataset, name: str, crop_size: int, min_scale: float) -> None:
    """Switch an ImageNet training set to crops of ``crop_size`` (a phase of progressive
    resizing); other datasets have no such phases."""
    if name != "imagenet":
        raise ValueError(
            f"training phases with a crop size are defined for imagenet, not {name!r}."
        )
    from benchmarks.data import imagenet

    train_set.transform = imagenet.train_transform(crop_size, min_scale)
