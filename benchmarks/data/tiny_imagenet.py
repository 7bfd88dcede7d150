"""Tiny-ImageNet-200 through torchvision's ``ImageFolder``, with the official pre-processing.

The archive (http://cs231n.stanford.edu/tiny-imagenet-200.zip) unpacks to
``tiny-imagenet-200/train/<wnid>/images/*.JPEG`` (200 classes, 500 images each) and
``tiny-imagenet-200/val/images/*.JPEG`` with the labels in ``val/val_annotations.txt``
(``file<TAB>wnid<TAB>box``). ``prepare_tiny_imagenet`` moves each validation image to
``val/<wnid>/images/``, the train layout, so that ``ImageFolder`` reads both splits with the same
class indices (the official ``create_val_folder`` sorts into ``val/images/<wnid>/`` instead; that
layout is accepted and converted too).

Transforms, mean and std follow ``load_data.py`` of the official code (snu-mllab/Co-Mixup,
identical in snu-mllab/PuzzleMix) for ``tiny-imagenet-200``: training applies
``RandomHorizontalFlip`` then ``RandomCrop(64, padding=4)``; both splits ``ToTensor`` and
``Normalize`` with 0.5 per channel (``[x / 255 for x in [127.5] * 3]``, which the official
``main.py`` repeats as ``args.mean = args.std = [0.5] * 3``). The validation set serves as test
set, as in the paper.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets, transforms
from torchvision.datasets.folder import IMG_EXTENSIONS

from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec, require_data_dir

SPEC = DatasetSpec(
    name="tiny-imagenet",
    num_classes=200,
    image_size=64,
    channels=3,
    # Official load_data.py: mean = std = [x / 255 for x in [127.5, 127.5, 127.5]] (= 0.5).
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
)

URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
ARCHIVE_FOLDER = "tiny-imagenet-200"
"""The folder the archive unpacks to; ``--data-dir`` points at it."""


def train_transform() -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.RandomHorizontalFlip(),
            transforms.RandomCrop(SPEC.image_size, padding=4),
            transforms.ToTensor(),
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def eval_transform() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(SPEC.mean, SPEC.std)])


def prepare_command(root: Path) -> str:
    return f"comixup-bench prepare-tiny-imagenet --data-dir {root}"


def download_command(root: Path) -> str:
    """Shell commands that download, unpack and prepare the archive so that it lands in ``root``."""
    # The archive unpacks to tiny-imagenet-200/: unpack next to root when root has that name,
    # else inside root (and the data directory becomes root/tiny-imagenet-200).
    if root.name == ARCHIVE_FOLDER:
        destination, prepared = root.parent, root
    else:
        destination, prepared = root, root / ARCHIVE_FOLDER
    return (
        f"curl -LO {URL} && unzip -q {ARCHIVE_FOLDER}.zip -d {destination} && "
        f"{prepare_command(prepared)}"
    )


def _not_found(root: Path, what: str, download: bool) -> DatasetNotFoundError:
    message = f"Tiny-ImageNet not found: {what}."
    nested = root / ARCHIVE_FOLDER
    if (nested / "train").is_dir():
        message += f" It is in {nested}: pass --data-dir {nested}."
    else:
        if download:
            message += " torchvision has no downloader for Tiny-ImageNet, so --download can't."
        message += f" Download and prepare it with: {download_command(root)}"
    return DatasetNotFoundError(message)


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(
        path.suffix.lower() in IMG_EXTENSIONS for path in folder.rglob("*")
    )


def build(data_dir: str | Path | None, *, download: bool = False) -> tuple[Dataset, Dataset]:
    """Tiny-ImageNet train (augmented) and validation sets from a prepared ``data_dir``.

    Raises:
        DatasetNotFoundError: ``train/`` or ``val/`` is missing (the message has the download
            command; ``download`` can't help, torchvision has no Tiny-ImageNet downloader), or
            ``val/`` has not been sorted into class folders yet (the message has the
            ``prepare-tiny-imagenet`` command).
    """
    root = require_data_dir(SPEC.name, data_dir)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise _not_found(root, f"{root} has no {split}/ folder", download)
    if _has_images(root / "val" / "images"):
        raise DatasetNotFoundError(
            f"Tiny-ImageNet's validation images in {root / 'val' / 'images'} are not sorted into "
            f"class folders yet; run `{prepare_command(root)}` (moves them to "
            "val/<wnid>/images/ as listed in val/val_annotations.txt)."
        )
    train = datasets.ImageFolder(root / "train", transform=train_transform())
    val = datasets.ImageFolder(root / "val", transform=eval_transform())
    return train, val


def prepare_tiny_imagenet(data_dir: str | Path) -> int:
    """Sort Tiny-ImageNet's validation images into class folders, ``val/<wnid>/images/``.

    Reads ``val/val_annotations.txt`` and moves each listed image from ``val/images/`` (the
    archive's layout) or ``val/images/<wnid>/`` (the official ``create_val_folder`` layout);
    then removes the emptied ``val/images/``. Idempotent: images already in place are left
    alone, so a second call (or one after an interrupted first) moves only what remains.

    Returns:
        The number of images moved (0 when already prepared).

    Raises:
        DatasetNotFoundError: ``val/val_annotations.txt`` is missing, or an image it lists is in
            none of the places above (nothing is moved then).
        ValueError: a line of the annotations file has no tab-separated class.
    """
    root = Path(data_dir).expanduser()
    val = root / "val"
    annotations = val / "val_annotations.txt"
    if not annotations.is_file():
        raise _not_found(root, f"{annotations} does not exist", download=False)

    moves: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(
                f"{annotations}, line {number}: expected 'file<TAB>wnid<TAB>box', got {line!r}."
            )
        filename, wnid = fields[0], fields[1]
        target = val / wnid / "images" / filename
        if target.is_file():
            continue
        sources = [val / "images" / filename, val / "images" / wnid / filename]
        source = next((path for path in sources if path.is_file()), None)
        if source is None:
            missing.append(filename)
        else:
            moves.append((source, target))
    if missing:
        raise DatasetNotFoundError(
            f"{len(missing)} validation image(s) listed in {annotations} are in neither "
            f"{val / 'images'} nor {val}/<wnid>/images (first: {', '.join(missing[:3])}); "
            f"the archive is incomplete, unpack it again: {download_command(root)}"
        )

    for source, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
    _remove_empty_folders(val / "images")
    return len(moves)


def _remove_empty_folders(folder: Path) -> None:
    """Remove ``folder`` and its sub-folders, bottom-up, where they hold no files."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir():
            _remove_empty_folders(child)
    if not any(folder.iterdir()):
        folder.rmdir()
