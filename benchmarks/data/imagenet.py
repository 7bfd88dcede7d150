"""ImageNet (ILSVRC-2012) through torchvision's ``ImageFolder``, with the standard transforms.

Layout: ``<data_dir>/train/<wnid>/*.JPEG`` and ``<data_dir>/val/<wnid>/*.JPEG`` (1000 classes;
the validation images sorted into class folders), which is what torchvision's ``ImageNet``
dataset unpacks the official archives to, and what soumith's ``valprep.sh`` makes of ``val/``.

Transforms are torchvision's reference recipe (``references/classification/presets.py``):
``RandomResizedCrop(224)`` (scale 0.08-1) + ``RandomHorizontalFlip`` for training,
``Resize(256)`` + ``CenterCrop(224)`` for evaluation, then ``Normalize`` with the ImageNet
mean/std. The official Co-Mixup ImageNet code (``comix-imagenet/main_fast_ddp.py`` with
``configs/comix/configs_fast_phase*.yml``) uses the same evaluation transform and mean/std, but
trains in phases with progressive resizing (128-px crops first, 224 last; min scale 0.08 /
0.087); those phases are not reproduced here.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets, transforms
from torchvision.datasets.folder import IMG_EXTENSIONS

from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec, require_data_dir

SPEC = DatasetSpec(
    name="imagenet",
    num_classes=1000,
    image_size=224,
    channels=3,
    # The usual ImageNet train-set statistics (torchvision's references and weights; the
    # official comix-imagenet configs use the same values).
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
)

RESIZE = 256
"""Shorter side before the evaluation centre crop (torchvision's reference recipe)."""

DOWNLOAD_PAGE = "https://image-net.org/download.php"
VALPREP = "https://raw.githubusercontent.com/soumith/imagenetloader.torch/master/valprep.sh"


MIN_SCALE = 0.08
"""Smallest crop area of RandomResizedCrop (torchvision's default)."""


def train_transform(
    crop_size: int = SPEC.image_size, min_scale: float = MIN_SCALE
) -> transforms.Compose:
    """Training augmentation; the official fast-ImageNet phases change the crop size (128
    then 224) and the minimum scale (0.08 then 0.087) from phase to phase."""
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(crop_size, scale=(min_scale, 1.0)),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def eval_transform() -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.Resize(RESIZE),
            transforms.CenterCrop(SPEC.image_size),
            transforms.ToTensor(),
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def unpack_command(root: Path) -> str:
    return (
        f'python -c "import torchvision; [torchvision.datasets.ImageNet({str(root)!r}, split=s) '
        "for s in ('train', 'val')]\""
    )


def _layout_help(root: Path) -> str:
    return (
        f"Expected {root}/train/<wnid>/*.JPEG and {root}/val/<wnid>/*.JPEG. Download "
        f"ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar and ILSVRC2012_devkit_t12.tar.gz "
        f"(account needed) from {DOWNLOAD_PAGE} into {root}, then unpack them into that layout "
        f"with: {unpack_command(root)}"
    )


def build(data_dir: str | Path | None, *, download: bool = False) -> tuple[Dataset, Dataset]:
    """ImageNet train (augmented) and validation sets from ``data_dir``.

    ``download`` can't help: ImageNet needs an account, so the error says where to get it.

    Raises:
        DatasetNotFoundError: ``train/`` or ``val/`` is missing or has no class folders (the
            message explains the layout and how to make it).
    """
    root = require_data_dir(SPEC.name, data_dir)
    note = " (--download can't fetch ImageNet: it needs an account.)" if download else ""
    for split in ("train", "val"):
        folder = root / split
        if not folder.is_dir():
            raise DatasetNotFoundError(
                f"ImageNet not found: {root} has no {split}/ folder.{note} {_layout_help(root)}"
            )
        if not any(child.is_dir() for child in folder.iterdir()):
            unsorted = any(child.suffix.lower() in IMG_EXTENSIONS for child in folder.iterdir())
            fix = (
                f"sort them into class folders with `cd {folder} && curl -sL {VALPREP} | bash`, "
                if unsorted and split == "val"
                else ""
            )
            raise DatasetNotFoundError(
                f"ImageNet's {folder} has no class folders; {fix}{_layout_help(root)}"
            )
    train = datasets.ImageFolder(root / "train", transform=train_transform())
    val = datasets.ImageFolder(root / "val", transform=eval_transform())
    return train, val
