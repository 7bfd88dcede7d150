"""A fast sanity check of a built dataset against its spec, before any training starts."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from benchmarks.data.spec import DatasetSpec


def _classes_and_targets(dataset: Dataset) -> tuple[list, list[int]]:
    """The class names and the label of every item, from the dataset's attributes.

    torchvision's ``CIFAR100``, ``ImageFolder`` and the built-in set all have ``classes`` and
    ``targets``; a ``Subset`` of one keeps the classes and takes its items' targets.
    """
    if isinstance(dataset, Subset):
        classes, targets = _classes_and_targets(dataset.dataset)
        return classes, [targets[i] for i in dataset.indices]
    classes = getattr(dataset, "classes", None)
    targets = getattr(dataset, "targets", None)
    if classes is None or targets is None:
        raise ValueError(
            f"can't check a {type(dataset).__name__}: it needs `classes` and `targets` "
            "attributes, as torchvision's datasets have."
        )
    return list(classes), list(targets)


def _class_count_hint(dataset: Dataset, spec: DatasetSpec, classes: list) -> str:
    """How to fix a wrong class count, where the cause is known."""
    root = getattr(dataset, "root", None)
    if spec.name == "tiny-imagenet" and classes == ["images"] and root is not None:
        data_dir = Path(root).parent
        return (
            f"; the validation images are not sorted into class folders, run "
            f"`comixup-bench prepare-tiny-imagenet --data-dir {data_dir}`"
        )
    if root is not None:
        return f"; check the class folders in {root}"
    return ""


def check_dataset(dataset: Dataset, spec: DatasetSpec, *, split: str) -> None:
    """Check ``dataset`` against ``spec``: non-empty, ``spec.num_classes`` classes, labels in range.

    Reads only the ``classes`` and ``targets`` attributes (no image is decoded, no random number
    drawn), so it costs milliseconds even on ImageNet. ``split`` names the set in messages.

    Raises:
        ValueError: with what is wrong and, where known, the fix (e.g. Tiny-ImageNet's
            ``val/`` not prepared yet).
    """
    classes, targets = _classes_and_targets(dataset)
    where = f"{spec.name} {split} set"
    if len(dataset) == 0 or not targets:
        raise ValueError(f"the {where} is empty.")
    if len(classes) != spec.num_classes:
        shown = ", ".join(repr(name) for name in classes[:5])
        if len(classes) > 5:
            shown += ", ..."
        noun = "class" if len(classes) == 1 else "classes"
        raise ValueError(
            f"the {where} has {len(classes)} {noun} ({shown}), expected {spec.num_classes}"
            f"{_class_count_hint(dataset, spec, classes)}."
        )
    labels = torch.as_tensor(targets)
    low, high = labels.min().item(), labels.max().item()
    if low < 0 or high >= spec.num_classes:
        raise ValueError(
            f"the {where} has labels in [{low}, {high}], outside [0, {spec.num_classes - 1}]."
        )
