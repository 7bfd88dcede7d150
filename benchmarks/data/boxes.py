"""Images with ground-truth bounding boxes: the ILSVRC / Pascal-VOC XML layout and its loader.

Layout (the ImageNet validation layout; what ``ILSVRC2012_bbox_val_v3.tgz`` unpacks beside the
images sorted by ``valprep.sh``)::

    <root>/<class>/<stem>.<ext>     images, one folder per class (torchvision's ImageFolder)
    <root>/<stem>.xml               boxes of that image, one XML per image

An XML next to its image (``<root>/<class>/<stem>.xml``) is found too; ``boxes_dir`` points
elsewhere. The XML is the VOC annotation format ILSVRC uses (``<size><width>``,
``<height>``; one ``<object><bndbox><xmin>..<ymax>`` per box).

Coordinates. A :class:`Box` is in pixel *edges* of its image, 0-based: ``xmin``/``ymin``
inclusive, ``xmax``/``ymax`` exclusive, so a box covering columns 3..9 has ``xmin=3, xmax=10``
and a box of the whole image is ``(0, 0, width, height)``. XML values are read as such edges,
as the official ``comix-localization/dataset.py`` does with its boxes (fractions of the image
multiplied by its size, no one-pixel shift); strict VOC counts pixels from 1 inclusive, which
moves ``xmin``/``ymin`` by one pixel, no more. A pixel belongs to a box when its centre does
(:func:`box_mask`).

:class:`BoxedImages` applies the evaluation transform (shorter side resized to ``resize``, then
a centre crop of ``image_size``, as ``Resize(256) + CenterCrop(224)`` for ImageNet), returns
the image *un-normalised* in [0, 1] (the corruptions work in that scale; the caller normalises
with the dataset's mean/std before the model) and moves the boxes with it: scaled, shifted by
the crop and clipped to it; boxes left with no area are dropped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
from torchvision.transforms import functional as TF

from benchmarks.data.build_lock import building, replace_whole
from benchmarks.data.spec import DatasetNotFoundError


class Box(NamedTuple):
    """One box in pixel edges of its image: ``[xmin, xmax) x [ymin, ymax)``, 0-based."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float


def _number(node: ET.Element, tag: str, xml_path: Path) -> float:
    text = node.findtext(tag)
    if text is None:
        raise ValueError(f"{xml_path}: <{tag}> is missing; is this a VOC/ILSVRC annotation?")
    return float(text)


def read_boxes(xml_path: str | Path) -> tuple[int, int, list[Box]]:
    """``(width, height, boxes)`` of one ILSVRC / Pascal-VOC annotation file.

    Raises:
        ValueError: the file has no ``<size>`` or a box lacks a coordinate.
    """
    xml_path = Path(xml_path)
    root = ET.parse(xml_path).getroot()
    size = root.find("size")
    if size is None:
        raise ValueError(f"{xml_path}: no <size> element; is this a VOC/ILSVRC annotation?")
    width, height = int(_number(size, "width", xml_path)), int(_number(size, "height", xml_path))
    boxes = []
    for bndbox in root.iter("bndbox"):
        boxes.append(Box(*(_number(bndbox, tag, xml_path) for tag in Box._fields)))
    return width, height, boxes


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def write_boxes(
    xml_path: str | Path,
    *,
    filename: str,
    width: int,
    height: int,
    boxes: Sequence[Box],
    name: str,
    folder: str = "",
) -> None:
    """Write one annotation in the ILSVRC layout; ``name`` is each object's class (a wnid in
    ILSVRC). Integer coordinates are written as integers, others with two decimals."""
    annotation = ET.Element("annotation")
    ET.SubElement(annotation, "folder").text = folder
    ET.SubElement(annotation, "filename").text = filename
    size = ET.SubElement(annotation, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(annotation, "segmented").text = "0"
    for box in boxes:
        obj = ET.SubElement(annotation, "object")
        ET.SubElement(obj, "name").text = name
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in zip(Box._fields, box, strict=True):
            ET.SubElement(bndbox, tag).text = _format(value)
    tree = ET.ElementTree(annotation)
    ET.indent(tree)
    tree.write(xml_path, encoding="utf-8")


def box_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(height, width)`` bool mask, True where a pixel's centre lies in any of ``boxes``
    (``(k, 4)`` as xmin, ymin, xmax, ymax in pixel edges; ``k`` may be 0: all False)."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    cols = torch.arange(width, dtype=torch.float32, device=boxes.device) + 0.5
    rows = torch.arange(height, dtype=torch.float32, device=boxes.device) + 0.5
    in_x = (cols >= boxes[:, 0:1]) & (cols < boxes[:, 2:3])  # (k, width)
    in_y = (rows >= boxes[:, 1:2]) & (rows < boxes[:, 3:4])  # (k, height)
    return (in_y[:, :, None] & in_x[:, None, :]).any(dim=0)


def snap_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """Integer pixel edges covering exactly the pixels :func:`box_mask` gives ``boxes``, so a
    box written to XML as integers keeps its mask."""
    return torch.ceil(torch.as_tensor(boxes, dtype=torch.float32) - 0.5)


def eval_geometry(width: int, height: int, resize: int, crop: int) -> tuple[int, int, int, int]:
    """``(resized_width, resized_height, left, top)`` of ``Resize(resize)`` (shorter side) then
    ``CenterCrop(crop)``, rounded as torchvision rounds them."""
    if min(width, height) <= 0 or crop > resize:
        raise ValueError(
            f"need a positive image size and crop <= resize, got {width}x{height}, "
            f"resize {resize}, crop {crop}."
        )
    # torchvision's Resize(int): the shorter side becomes `resize`, the longer one truncated.
    if width <= height:
        new_w, new_h = resize, int(resize * height / width)
    else:
        new_w, new_h = int(resize * width / height), resize
    # torchvision's center_crop rounds the offsets to the nearest integer.
    return new_w, new_h, round((new_w - crop) / 2.0), round((new_h - crop) / 2.0)


def transform_boxes(
    boxes: Sequence[Box], width: int, height: int, *, resize: int, crop: int
) -> torch.Tensor:
    """``boxes`` of a ``width`` x ``height`` image moved through :func:`eval_geometry`:
    ``(k, 4)`` float32 in the crop's pixel edges, clipped to it, boxes with no area dropped."""
    new_w, new_h, left, top = eval_geometry(width, height, resize, crop)
    out = torch.tensor([list(box) for box in boxes], dtype=torch.float32).reshape(-1, 4)
    scale = torch.tensor([new_w / width, new_h / height] * 2)
    shift = torch.tensor([left, top] * 2, dtype=torch.float32)
    out = (out * scale - shift).clamp(0.0, float(crop))
    keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out[keep]


def find_annotation(image_path: Path, root: Path, boxes_dir: Path | None) -> Path:
    """The XML of ``image_path``: ``<boxes_dir>/<stem>.xml``, or (no ``boxes_dir``)
    ``<root>/<stem>.xml`` then the one beside the image."""
    stem = image_path.stem + ".xml"
    candidates = [boxes_dir / stem] if boxes_dir else [root / stem, image_path.with_suffix(".xml")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(
        f"no box annotation for {image_path}: looked for "
        f"{' and '.join(str(c) for c in candidates)}. Each image needs a VOC/ILSVRC XML "
        "with its boxes (for ImageNet: ILSVRC2012_bbox_val_v3.tgz, see "
        "benchmarks.data.imagenet_boxes)."
    )


class BoxedImages(Dataset):
    """Images in class folders with per-image XML boxes, after the evaluation transform.

    Items are ``(image, label, boxes)``: ``image`` a float32 ``(3, image_size, image_size)``
    tensor in [0, 1] (not normalised), ``label`` the class folder's index (sorted names, as
    ImageFolder), ``boxes`` float32 ``(k, 4)`` (xmin, ymin, xmax, ymax) in the crop's pixel
    edges. ``resize`` is the shorter side before the centre crop (default ``image_size``: no
    margin cut beyond the longer side's). Attributes as torchvision's datasets: ``classes``,
    ``class_to_idx``, ``samples`` (path, label) and ``targets``.

    Raises:
        DatasetNotFoundError: ``root`` has no class folders with images, or an image has no
            XML (the message says where it looked).
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int,
        *,
        resize: int | None = None,
        boxes_dir: str | Path | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        self.image_size = image_size
        self.resize = image_size if resize is None else resize
        if self.resize < image_size:
            raise ValueError(
                f"resize ({self.resize}) is the shorter side before a centre crop of "
                f"image_size ({image_size}): pass resize >= image_size, or None for equal."
            )
        if not self.root.is_dir() or not any(p.is_dir() for p in self.root.iterdir()):
            raise DatasetNotFoundError(
                f"{self.root} has no class folders; expected <root>/<class>/<image> with one "
                "XML of boxes per image."
            )
        self.classes, self.class_to_idx = find_classes(str(self.root))
        self.samples = [
            (Path(path), label)
            for path, label in make_dataset(str(self.root), self.class_to_idx, IMG_EXTENSIONS)
        ]
        self.targets = [label for _, label in self.samples]
        directory = Path(boxes_dir).expanduser() if boxes_dir is not None else None
        self.annotations = [find_annotation(p, self.root, directory) for p, _ in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def raw(self, index: int) -> tuple[Image.Image, int, list[Box]]:
        """The stored image (RGB), its label and its boxes in its own pixels."""
        path, label = self.samples[index]
        with Image.open(path) as image:
            image = image.convert("RGB")
        width, height, boxes = read_boxes(self.annotations[index])
        if (width, height) != image.size:
            # The XML describes the stored image; scale its boxes if the image was resized.
            sx, sy = image.size[0] / width, image.size[1] / height
            boxes = [Box(b.xmin * sx, b.ymin * sy, b.xmax * sx, b.ymax * sy) for b in boxes]
        return image, label, boxes

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        image, label, boxes = self.raw(index)
        width, height = image.size
        new_w, new_h, left, top = eval_geometry(width, height, self.resize, self.image_size)
        if (new_w, new_h) != (width, height):
            image = image.resize((new_w, new_h), Image.BILINEAR)
        image = image.crop((left, top, left + self.image_size, top + self.image_size))
        out_boxes = transform_boxes(boxes, width, height, resize=self.resize, crop=self.image_size)
        return TF.to_tensor(image), label, out_boxes


def collate_boxes(
    batch: Sequence[tuple[torch.Tensor, int, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """DataLoader ``collate_fn`` for :class:`BoxedImages`: stacked images, a label tensor and
    the boxes as a list (images have different numbers of boxes)."""
    images, labels, boxes = zip(*batch, strict=True)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long), list(boxes)


MARKER = "comixup-boxes.json"
"""Written last into a folder this package generated; it records the settings it was made
with. A folder without it is an unfinished build."""


def write_once(folder: str | Path, settings: dict, write: Callable[[Path], None]) -> Path:
    """Run ``write(staging)`` and move the result to ``folder``, unless ``folder`` already holds
    a set made with the same ``settings`` (JSON-able): then it is reused as it is.

    The files are written into a temporary folder beside ``folder`` and moved into place when
    complete, so an interrupted build leaves nothing half-made. A set made with other settings
    is replaced only if this package made it (its marker is there); any other non-empty folder
    is an error, so a wrong path deletes nothing.

    Raises:
        ValueError: ``folder`` is a non-empty folder this package did not make.
    """
    folder = Path(folder).expanduser()
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as read back
    marker = folder / MARKER
    if marker.is_file() and json.loads(marker.read_text()) == settings:
        return folder
    with building(folder):  # one builder at a time; one that waited reuses the first's set
        if marker.is_file() and json.loads(marker.read_text()) == settings:
            return folder
        if folder.exists() and any(folder.iterdir()) and not marker.is_file():
            raise ValueError(
                f"{folder} exists and was not made by comixup-bench (no {MARKER}); choose an "
                "empty or new folder, or delete it."
            )

        def write_with_marker(staging: Path) -> None:
            write(staging)
            (staging / MARKER).write_text(json.dumps(settings, indent=2) + "\n")

        replace_whole(folder, write_with_marker)
    return folder
