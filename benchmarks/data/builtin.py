"""The built-in offline set: scikit-learn's handwritten digits as a 10-class 32x32 RGB task.

``sklearn.datasets.load_digits`` ships 1797 8x8 grayscale digits (0-16 per pixel; the test part
of the UCI "Optical Recognition of Handwritten Digits" set) inside the package, so this set needs
no download and no data directory. Each image is scaled to [0, 1], up-sampled to 32x32
(bilinear, so values stay in [0, 1]) and replicated to 3 channels, the input shape of the
CIFAR models.

The split is fixed and stratified, 1437 train / 360 test (``train_test_split`` with
``test_size=360, stratify=labels, random_state=0``), independent of the run's seed, so every run
evaluates on the same images. Training augmentation is ``RandomCrop(32, padding=4)`` only: no
horizontal flip, since digits are not flip-invariant (a mirrored 2 or 7 is not a digit).
Normalisation uses the mean and std of the train split's pixels (one value, shared by the three
identical channels; ``train_statistics`` recomputes them and a test checks the constants).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision import transforms

from benchmarks.data.spec import DatasetSpec

_MEAN = 0.305383
_STD = 0.323652

SPEC = DatasetSpec(
    name="builtin",
    num_classes=10,
    image_size=32,
    channels=3,
    # Pixel mean and std of the 1437 up-sampled train images in [0, 1] (train_statistics()).
    mean=(_MEAN,) * 3,
    std=(_STD,) * 3,
)

TEST_SIZE = 360
SPLIT_SEED = 0
"""Seed of the fixed train/test split; not the run's seed."""


class DigitsDataset(Dataset):
    """Images held as a tensor; items are ``(transform(image), label)``.

    Attributes mirror torchvision's datasets so ``check_dataset`` treats all alike:
    ``classes`` (``"0"`` to ``"9"``) and ``targets`` (a list of ints).
    """

    def __init__(
        self, images: torch.Tensor, targets: list[int], transform: transforms.Compose | None
    ) -> None:
        if images.ndim != 4 or images.shape[1] != 1 or len(images) != len(targets):
            raise ValueError(
                f"expected (N, 1, H, W) images and N targets, got {tuple(images.shape)} and "
                f"{len(targets)}."
            )
        self.images = images
        self.targets = targets
        self.classes = [str(digit) for digit in range(SPEC.num_classes)]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].expand(SPEC.channels, -1, -1)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[index]


def load_split() -> tuple[tuple[torch.Tensor, list[int]], tuple[torch.Tensor, list[int]]]:
    """The fixed split: ``((train_images, train_labels), (test_images, test_labels))``.

    Images are ``(N, 1, 32, 32)`` float32 in [0, 1], un-normalised; indices keep the order of
    ``load_digits``.
    """
    # Imported here: scikit-learn takes a second to import and only this set needs it.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.from_numpy(digits.images).float().div(16.0).unsqueeze(1)
    images = F.interpolate(images, size=SPEC.image_size, mode="bilinear", align_corners=False)
    labels = digits.target.tolist()
    train_index, test_index = train_test_split(
        range(len(labels)), test_size=TEST_SIZE, stratify=labels, random_state=SPLIT_SEED
    )
    train_index, test_index = sorted(train_index), sorted(test_index)
    return (
        (images[train_index], [labels[i] for i in train_index]),
        (images[test_index], [labels[i] for i in test_index]),
    )


def train_statistics() -> tuple[float, float]:
    """Pixel mean and std of the un-augmented train split, the source of ``SPEC.mean/std``."""
    (train_images, _), _ = load_split()
    return train_images.mean().item(), train_images.std().item()


def train_transform() -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.RandomCrop(SPEC.image_size, padding=4),  # no flip: digits aren't symmetric
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def eval_transform() -> transforms.Compose:
    return transforms.Compose([transforms.Normalize(SPEC.mean, SPEC.std)])


def build(data_dir: str | Path | None = None, *, download: bool = False) -> tuple[Dataset, Dataset]:
    """The digits train (augmented) and test sets; ``data_dir`` and ``download`` are ignored."""
    del data_dir, download  # the set ships with scikit-learn
    (train_images, train_labels), (test_images, test_labels) = load_split()
    return (
        DigitsDataset(train_images, train_labels, train_transform()),
        DigitsDataset(test_images, test_labels, eval_transform()),
    )
