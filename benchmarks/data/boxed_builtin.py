"""The built-in offline boxed set ``boxed-digits``: small handwritten digits pasted at random
places and sizes onto crops of photographs, with their bounding boxes, in the ImageNet
validation layout (:mod:`benchmarks.data.boxes`), so localisation and the background
corruptions run end to end anywhere, and so that the object is a small part of a cluttered
image, where saliency-guided mixing is meant to matter.

Everything ships with scikit-learn: the objects are ``load_digits`` (the same fixed, stratified
1437 / 360 split as ``builtin``: ``builtin.TEST_SIZE``, ``builtin.SPLIT_SEED``), the backgrounds
crops of ``load_sample_images`` (two 640x427 photographs, a temple in China and a flower).
Each image (32x32 RGB; the class is the digit):

- background: a square crop of side drawn in [64, 200) px at a random place of one of the two
  photographs (drawn), resized to 32x32 (bilinear, anti-aliased), its contrast lowered to
  ``BACKGROUND_CONTRAST`` around its own mean (the clutter stays, the digit stands out);
- object: the digit's 8x8 intensities (0-16, scaled to [0, 1]) resized to a square side drawn
  in [14, 21) px, used as opacity for black on a light background (mean under it above 0.5)
  or white on a dark one, pasted at a random place wholly inside the image;
- box: the tight box (pixel edges) of the pixels where the digit's opacity exceeds 0.2.

All draws come from ``numpy.random.default_rng([SEED, split])`` image by image, so the set is
the same on every machine with the same scikit-learn data and Pillow. ``build`` writes it on
first use into ``<data_dir>/boxed-digits`` (default ``~/.cache/comixup-bench``), about a
second, as ``train/<digit>/<stem>.png`` + ``train/<stem>.xml`` and the same under ``val/``
(the test split). Training augmentation is that of ``builtin``: ``RandomCrop(32, padding=4)``,
no flip; normalisation by the train split's pixel mean and std (``train_statistics``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets, transforms

from benchmarks.data import builtin
from benchmarks.data.boxes import Box, BoxedImages, write_boxes, write_once
from benchmarks.data.spec import DatasetSpec

NAME = "boxed-digits"
IMAGE_SIZE = 32
_MEAN = (0.453778, 0.45229, 0.437281)
_STD = (0.257932, 0.241976, 0.247552)

SPEC = DatasetSpec(
    name=NAME,
    num_classes=10,
    image_size=IMAGE_SIZE,
    channels=3,
    # Per-channel pixel mean and std of the 1437 train images in [0, 1] (train_statistics()).
    mean=_MEAN,
    std=_STD,
)

SEED = 0
"""Seed of the set's draws; fixed, not the run's seed."""
CROP_SIDE = (64, 200)
"""Side of the photograph crop behind each image, px (drawn, upper end excluded)."""
BACKGROUND_CONTRAST = 0.3
"""The background's deviations from its mean are scaled by this (1 keeps the photograph)."""
DIGIT_SIDE = (14, 21)
"""Side of the pasted digit, px (drawn, upper end excluded)."""
OPACITY_IN_BOX = 0.2
"""A pixel is part of the object (inside its box) above this opacity."""
SPLITS = ("train", "val")
DEFAULT_ROOT = Path("~/.cache/comixup-bench")


def _photographs() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return [np.asarray(image) for image in load_sample_images().images]


def _digits() -> dict[str, tuple[np.ndarray, list[int]]]:
    """The 8x8 digits in [0, 1] of each split, in builtin's fixed split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    labels = digits.target.tolist()
    train, test = train_test_split(
        range(len(labels)),
        test_size=builtin.TEST_SIZE,
        stratify=labels,
        random_state=builtin.SPLIT_SEED,
    )
    images = digits.images / 16.0
    return {
        split: (images[sorted(index)], [labels[i] for i in sorted(index)])
        for split, index in zip(SPLITS, (train, test), strict=True)
    }


def _resize_opacity(digit: np.ndarray, side: int) -> np.ndarray:
    """``digit`` (8x8 float in [0, 1]) resized to ``side`` x ``side`` (bilinear)."""
    image = Image.fromarray(digit.astype(np.float32), mode="F")
    return np.clip(np.asarray(image.resize((side, side), Image.BILINEAR)), 0.0, 1.0)


def compose(
    digit: np.ndarray, photographs: list[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, Box]:
    """One image (32x32x3 float in [0, 1]) with ``digit`` (8x8 in [0, 1]) pasted on a crop of
    one of ``photographs``, and its box; every choice drawn from ``rng``."""
    photo = photographs[int(rng.integers(len(photographs)))]
    crop = int(rng.integers(*CROP_SIDE))
    top = int(rng.integers(photo.shape[0] - crop + 1))
    left = int(rng.integers(photo.shape[1] - crop + 1))
    background = Image.fromarray(photo[top : top + crop, left : left + crop])
    image = np.asarray(background.resize((IMAGE_SIZE,) * 2, Image.BILINEAR)) / 255.0
    image = image.mean() + (image - image.mean()) * BACKGROUND_CONTRAST
    side = int(rng.integers(*DIGIT_SIDE))
    y = int(rng.integers(IMAGE_SIZE - side + 1))
    x = int(rng.integers(IMAGE_SIZE - side + 1))
    opacity = _resize_opacity(digit, side)[..., None]
    under = image[y : y + side, x : x + side]
    # Black on a light background, white on a dark one: the object always stands out.
    colour = 0.0 if under.mean() > 0.5 else 1.0
    image[y : y + side, x : x + side] = under * (1.0 - opacity) + colour * opacity
    rows = np.flatnonzero((opacity[..., 0] > OPACITY_IN_BOX).any(axis=1))
    cols = np.flatnonzero((opacity[..., 0] > OPACITY_IN_BOX).any(axis=0))
    box = Box(x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1)
    return image, box


def _write(folder: Path) -> None:
    photographs = _photographs()
    for number, (split, (digits, labels)) in enumerate(_digits().items()):
        rng = np.random.default_rng([SEED, number])
        for index, (digit, label) in enumerate(zip(digits, labels, strict=True)):
            image, box = compose(digit, photographs, rng)
            stem = f"{split}_{index:05d}"
            (folder / split / str(label)).mkdir(parents=True, exist_ok=True)
            pixels = np.round(image * 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / split / str(label) / f"{stem}.png")
            write_boxes(
                folder / split / f"{stem}.xml",
                filename=stem,
                width=IMAGE_SIZE,
                height=IMAGE_SIZE,
                boxes=[box],
                name=str(label),
                folder=split,
            )


def make_boxed_digits(data_dir: str | Path | None = None) -> Path:
    """The set's folder, ``<data_dir>/boxed-digits`` (default ``~/.cache/comixup-bench``),
    written there first if it is not yet (or was made with other settings)."""
    root = Path(data_dir if data_dir is not None else DEFAULT_ROOT).expanduser()
    settings = {
        "kind": NAME,
        "seed": SEED,
        "crop_side": CROP_SIDE,
        "digit_side": DIGIT_SIDE,
        "opacity_in_box": OPACITY_IN_BOX,
        "background_contrast": BACKGROUND_CONTRAST,
        "split": [builtin.TEST_SIZE, builtin.SPLIT_SEED],
    }
    return write_once(root / NAME, settings, _write)


def train_statistics(data_dir: str | Path | None = None) -> tuple[list[float], list[float]]:
    """Per-channel pixel mean and std of the train split, the source of ``SPEC.mean/std``."""
    folder = make_boxed_digits(data_dir)
    images = datasets.ImageFolder(folder / "train", transform=transforms.ToTensor())
    pixels = np.stack([image.numpy() for image, _ in images])  # (N, 3, 32, 32)
    return pixels.mean(axis=(0, 2, 3)).tolist(), pixels.std(axis=(0, 2, 3)).tolist()


def train_transform() -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.ToTensor(),
            transforms.RandomCrop(IMAGE_SIZE, padding=4),  # no flip: digits aren't symmetric
            transforms.Normalize(SPEC.mean, SPEC.std),
        ]
    )


def eval_transform() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(SPEC.mean, SPEC.std)])


def build(data_dir: str | Path | None = None, *, download: bool = False) -> tuple[Dataset, Dataset]:
    """Train (augmented) and test sets as ``ImageFolder`` s, the set made first if missing;
    ``download`` is ignored (the set is made locally)."""
    del download
    folder = make_boxed_digits(data_dir)
    return (
        datasets.ImageFolder(folder / "train", transform=train_transform()),
        datasets.ImageFolder(folder / "val", transform=eval_transform()),
    )


def boxed_test_set(data_dir: str | Path | None = None) -> BoxedImages:
    """The test split with its boxes (images in [0, 1], not normalised; the stored images are
    already the model's input, so the evaluation transform is the identity)."""
    return BoxedImages(make_boxed_digits(data_dir) / "val", IMAGE_SIZE)
