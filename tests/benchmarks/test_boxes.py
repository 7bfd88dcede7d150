"""Boxed images: the VOC/ILSVRC XML, the box mask, and the loader on a tiny fixture in the real
ILSVRC2012 validation layout (images sorted into wnid folders, one XML per image beside them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from benchmarks.data.boxes import (
    Box,
    BoxedImages,
    box_mask,
    collate_boxes,
    read_boxes,
    snap_boxes,
    write_boxes,
)
from benchmarks.data.spec import DatasetNotFoundError

# A real ILSVRC2012 validation annotation (ILSVRC2012_val_00000001.xml), as shipped.
ILSVRC_XML = """<annotation>
	<folder>val</folder>
	<filename>ILSVRC2012_val_00000001</filename>
	<source>
		<database>ILSVRC_2012</database>
	</source>
	<size>
		<width>500</width>
		<height>375</height>
		<depth>3</depth>
	</size>
	<segmented>0</segmented>
	<object>
		<name>n01751748</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>0</difficult>
		<bndbox>
			<xmin>111</xmin>
			<ymin>108</ymin>
			<xmax>441</xmax>
			<ymax>375</ymax>
		</bndbox>
	</object>
</annotation>
"""


def test_read_boxes_of_an_ilsvrc_annotation(tmp_path):
    path = tmp_path / "ILSVRC2012_val_00000001.xml"
    path.write_text(ILSVRC_XML)
    assert read_boxes(path) == (500, 375, [Box(111, 108, 441, 375)])


def test_write_then_read_keeps_every_box(tmp_path):
    boxes = [Box(0, 0, 7, 5), Box(2.5, 1.25, 9, 8)]
    write_boxes(tmp_path / "a.xml", filename="a", width=10, height=8, boxes=boxes, name="3")
    assert read_boxes(tmp_path / "a.xml") == (10, 8, boxes)


def test_read_boxes_rejects_a_file_without_size(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text("<annotation><object/></annotation>")
    with pytest.raises(ValueError, match="no <size>"):
        read_boxes(path)


def test_box_mask_is_the_union_of_pixel_centres_inside():
    boxes = torch.tensor([[1.0, 2.0, 4.0, 3.0], [3.4, 0.0, 5.0, 1.6]])
    expected = np.zeros((4, 6), dtype=bool)
    expected[2:3, 1:4] = True  # columns 1..3, row 2
    expected[0:2, 3:5] = True  # centres 3.5, 4.5 >= 3.4; rows 0.5, 1.5 < 1.6
    assert box_mask(boxes, 4, 6).numpy().tolist() == expected.tolist()
    assert not box_mask(torch.zeros(0, 4), 4, 6).any()


def test_snapped_boxes_keep_their_mask():
    boxes = torch.tensor([[0.3, 1.49, 4.51, 3.5], [2.0, 0.0, 2.6, 7.9]])
    snapped = snap_boxes(boxes)
    assert torch.equal(snapped, snapped.round())
    assert torch.equal(box_mask(snapped, 8, 8), box_mask(boxes, 8, 8))


# --- the loader on the real validation layout ---------------------------------------------------


def _image(path: Path, width: int, height: int, boxes: list[tuple[int, int, int, int]]) -> None:
    """A black image, white inside ``boxes`` (pixel edges)."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    for xmin, ymin, xmax, ymax in boxes:
        pixels[ymin:ymax, xmin:xmax] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


FIXTURES = [
    ("n01440764", "ILSVRC2012_val_00000002", 40, 20, [(8, 2, 24, 14)]),
    ("n01443537", "ILSVRC2012_val_00000001", 20, 40, [(0, 0, 20, 6), (6, 20, 14, 34)]),
]


def _ilsvrc_val(root: Path, *, xml_dir: Path | None = None) -> Path:
    """``root/val`` as ILSVRC2012 after valprep.sh and ILSVRC2012_bbox_val_v3.tgz: images in
    wnid folders, ``val/<stem>.xml`` beside them (PNG, not JPEG, to keep pixels exact)."""
    val = root / "val"
    xml_dir = xml_dir or val
    xml_dir.mkdir(parents=True, exist_ok=True)
    for wnid, stem, width, height, boxes in FIXTURES:
        _image(val / wnid / f"{stem}.png", width, height, boxes)
        write_boxes(
            xml_dir / f"{stem}.xml",
            filename=stem,
            width=width,
            height=height,
            boxes=[Box(*b) for b in boxes],
            name=wnid,
        )
    return val


def test_loader_resizes_crops_and_moves_the_boxes(tmp_path):
    dataset = BoxedImages(_ilsvrc_val(tmp_path), 8, resize=10)
    assert dataset.classes == ["n01440764", "n01443537"] and dataset.targets == [0, 1]
    # 40x20 -> 20x10 (half), centre crop 8 at left 6, top 1: (4, 1, 12, 7) -> (-2, 0, 6, 6).
    image, label, boxes = dataset[0]
    assert image.shape == (3, 8, 8) and image.dtype == torch.float32 and label == 0
    assert boxes.tolist() == [[0.0, 0.0, 6.0, 6.0]]
    # 20x40 -> 10x20, crop at left 1, top 6: the top box falls outside the crop and is dropped,
    # (3, 10, 7, 17) -> (2, 4, 6, 11), clipped to (2, 4, 6, 8).
    image, label, boxes = dataset[1]
    assert label == 1 and boxes.tolist() == [[2.0, 4.0, 6.0, 8.0]]
    for image, _, boxes in (dataset[0], dataset[1]):
        inside = box_mask(boxes, 8, 8)
        assert image.min() >= 0.0 and image.max() <= 1.0
        # Bilinear down-sampling blurs the rims by one pixel; away from them the image is the
        # white object inside the boxes and black around it.
        assert image[:, inside].mean() > 0.8 and image[:, ~inside].mean() < 0.2


def test_loader_without_resize_keeps_pixels_and_boxes(tmp_path):
    dataset = BoxedImages(_ilsvrc_val(tmp_path), 20)  # 40x20: crop the middle 20 columns
    image, _, boxes = dataset[0]
    assert boxes.tolist() == [[0.0, 2.0, 14.0, 14.0]]
    assert torch.equal(image[0] == 1.0, box_mask(boxes, 20, 20))


def test_boxes_from_another_folder_or_beside_the_image(tmp_path):
    elsewhere = tmp_path / "LOC_val"
    val = _ilsvrc_val(tmp_path / "a", xml_dir=elsewhere)
    assert BoxedImages(val, 8, resize=10, boxes_dir=elsewhere)[0][2].tolist() == [[0, 0, 6, 6]]
    val = _ilsvrc_val(tmp_path / "b")
    for wnid, stem, *_ in FIXTURES:
        (val / f"{stem}.xml").rename(val / wnid / f"{stem}.xml")
    assert BoxedImages(val, 8, resize=10)[1][2].tolist() == [[2, 4, 6, 8]]


def test_boxes_of_an_annotation_for_a_larger_original_are_scaled(tmp_path):
    val = _ilsvrc_val(tmp_path)
    # The XML describes the original 80x40 image; the stored one is 40x20 (a resized copy).
    write_boxes(
        val / "ILSVRC2012_val_00000002.xml",
        filename="ILSVRC2012_val_00000002",
        width=80,
        height=40,
        boxes=[Box(16, 4, 48, 28)],
        name="n01440764",
    )
    assert BoxedImages(val, 8, resize=10)[0][2].tolist() == [[0.0, 0.0, 6.0, 6.0]]


def test_a_missing_annotation_names_the_files_looked_for(tmp_path):
    val = _ilsvrc_val(tmp_path)
    (val / "ILSVRC2012_val_00000001.xml").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"ILSVRC2012_val_00000001\.xml"):
        BoxedImages(val, 8)
    with pytest.raises(DatasetNotFoundError, match="no class folders"):
        BoxedImages(tmp_path / "nothing", 8)


def test_collate_keeps_the_boxes_of_each_image_apart(tmp_path):
    dataset = BoxedImages(_ilsvrc_val(tmp_path), 8, resize=10)
    loader = DataLoader(dataset, batch_size=2, collate_fn=collate_boxes)
    images, labels, boxes = next(iter(loader))
    assert images.shape == (2, 3, 8, 8) and labels.tolist() == [0, 1]
    assert [b.tolist() for b in boxes] == [[[0, 0, 6, 6]], [[2, 4, 6, 8]]]
