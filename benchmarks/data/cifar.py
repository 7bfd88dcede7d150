"""CIFAR-100 through torchvision's ``CIFAR100`` loader, with the official pre-processing.

Transforms, mean and std follow ``load_data.py`` of the official code (snu-mllab/Co-Mixup,
identical in snu-mllab/PuzzleMix, both copied from GibbsNet / Manifold Mixup): training applies
``RandomHorizontalFlip`` then ``RandomCrop(32, padding=2)``, both splits ``ToTensor`` and
``Normalize``; the test set is not cropped.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets, transforms

from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec, require_data_dir

SPEC = DatasetSpec(
    name="cifar100",
    num_classes=100,
    image_size=32,
    channels=3,
    # Official load_data.py: mean = [x / 255 for x in [129.3, 124.1, 112.4]],
    # std = [x / 255 for x in [68.2, 65.4, 70.4]] (CIFAR-100 train-set statistics).
    mean=tuple(x / 255 for x in (129.3, 124.1, 112.4)),
    std=tuple(x / 255 for x in (68.2, 65.4, 70.4)),
)

CROP_PADDING = 2
"""Zero padding of the training random crop: 2 in the official ``load_data.py`` (the 4 of many
other CIFAR recipes is not what Co-Mixup and Puzzle Mix trained with)."""

FILES = ("train", "test", "meta")
"""The pickles torchvision's ``CIFAR100`` reads from ``<root>/cifar-100-python/``."""


def train_transform() -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.RandomHorizontalFlip(),
            transforms.RandomCrop(SPEC.image_size, padding=CROP_PADDING),
            transforms.ToTensor(),
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def eval_transform() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(SPEC.mean, SPEC.std)])


def download_command(root: Path) -> str:
    return (
        'python -c "import torchvision; '
        f'torchvision.datasets.CIFAR100({str(root)!r}, download=True)"'
    )


def build(data_dir: str | Path | None, *, download: bool = False) -> tuple[Dataset, Dataset]:
    """CIFAR-100 train (augmented) and test sets from ``<data_dir>/cifar-100-python/``.

    With ``download`` torchvision fetches and unpacks the archive (md5-checked) first.

    Raises:
        DatasetNotFoundError: the pickles are missing (and ``download`` is off) or fail
            torchvision's md5 check.
    """
    root = require_data_dir(SPEC.name, data_dir)
    folder = root / datasets.CIFAR100.base_folder
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing and not download:
        raise DatasetNotFoundError(
            f"CIFAR-100 not found: {folder} lacks {', '.join(missing)}. Pass --download to fetch "
            f"it (about 160 MB), or run: {download_command(root)}"
        )
    try:
        train = datasets.CIFAR100(root, train=True, transform=train_transform(), download=download)
        test = datasets.CIFAR100(root, train=False, transform=eval_transform())
    except RuntimeError as error:  # torchvision: "Dataset not found or corrupted."
        raise DatasetNotFoundError(
            f"CIFAR-100 in {folder} failed torchvision's md5 check ({error}). Delete the folder "
            f"and download it again: {download_command(root)}"
        ) from error
    return train, test
