"""ImageNet (ILSVRC-2012) validation images with their ground-truth boxes, for localisation and
the background-corrupted sets (Co-Mixup, Section 7).

Layout: the images as ``benchmarks.data.imagenet`` reads them (``<data_dir>/val/<wnid>/
ILSVRC2012_val_XXXXXXXX.JPEG``) and one XML per image from ``ILSVRC2012_bbox_val_v3.tgz``
("Validation bounding box annotations (all tasks)" on the ILSVRC2012 download page), which
unpacks to ``val/ILSVRC2012_val_XXXXXXXX.xml``: unpacked in ``<data_dir>``, the XMLs land beside
the class folders, where :class:`~benchmarks.data.boxes.BoxedImages` looks first. Kaggle's
ImageNet Object Localization Challenge ships the same files as
``ILSVRC/Annotations/CLS-LOC/val/*.xml``: pass that folder as ``boxes_dir``.

The evaluation transform is ImageNet's (``Resize(256)`` + ``CenterCrop(224)``); the boxes are
moved with it.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.data import imagenet
from benchmarks.data.boxes import BoxedImages
from benchmarks.data.spec import DatasetNotFoundError, require_data_dir

BOXES_ARCHIVE = "ILSVRC2012_bbox_val_v3.tgz"


def _boxes_help(root: Path) -> str:
    return (
        f"Download {BOXES_ARCHIVE} ('Validation bounding box annotations (all tasks)', "
        f"account needed) from {imagenet.DOWNLOAD_PAGE} and unpack it with "
        f"`tar -xzf {BOXES_ARCHIVE} -C {root}` (it writes val/ILSVRC2012_val_*.xml beside the "
        "class folders), or pass the folder holding those XMLs as boxes_dir (Kaggle's "
        "ILSVRC/Annotations/CLS-LOC/val)."
    )


def val_boxes(data_dir: str | Path | None, *, boxes_dir: str | Path | None = None) -> BoxedImages:
    """The 50,000 validation images with their boxes, after ImageNet's evaluation transform.

    Raises:
        DatasetNotFoundError: no ``val/`` class folders (how to get ImageNet), or no box XMLs
            where they are looked for (how to get them).
    """
    root = require_data_dir(imagenet.SPEC.name, data_dir)
    val = root / "val"
    if not val.is_dir() or not any(child.is_dir() for child in val.iterdir()):
        raise DatasetNotFoundError(
            f"ImageNet validation images not found in {val}: {imagenet._layout_help(root)}"
        )
    folder = Path(boxes_dir).expanduser() if boxes_dir is not None else val
    if not any(folder.glob("*.xml")):
        raise DatasetNotFoundError(
            f"no ImageNet validation boxes (ILSVRC2012_val_*.xml) in {folder}. " + _boxes_help(root)
        )
    return BoxedImages(
        val,
        imagenet.SPEC.image_size,
        resize=imagenet.RESIZE,
        boxes_dir=boxes_dir,
    )
