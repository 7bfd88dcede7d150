"""The batch the figures show: 24 photos as (24, 3, S, S) pixels in [0, 1], with labels.

By default the photos ship inside installed packages, so the figures need no download:
ten colour photos and two greyscale ones of scikit-image's ``skimage.data`` and scikit-learn's
``load_sample_images``, each seen twice, the largest centred square and a closer square crop
(60% of the shorter side, at a position drawn from the seed); the label of an input is its
photo. With an ImageNet folder (``<dir>/val/<wnid>/*.JPEG``, the layout of
``benchmarks.data.imagenet``) the batch is 24 validation images, one class after another in a
seeded order, each resized (shorter side 256) and centre-cropped as ImageNet evaluation does;
the label is the class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.errors import UserError

BATCH_SIZE = 24
"""Inputs per figure batch (the paper's Figures 7-9 show 24)."""
IMAGE_SIZE = 224
"""Side of every input, as ImageNet's (the paper's figures are ImageNet images)."""
CLOSE_CROP = 0.6
"""Side of the second crop of a built-in photo, as a share of its shorter side."""


@dataclass(frozen=True)
class PhotoBatch:
    """Images (B, 3, S, S) float32 in [0, 1], labels (B,) long, a name per input and where
    the photos come from (one line, for captions)."""

    images: torch.Tensor
    labels: torch.Tensor
    names: tuple[str, ...]
    source: str


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        image = getattr(data, name)()
        return image[0] if isinstance(image, tuple) else image  # the stereo pair's left view

    return load


def _sklearn(index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_images

        return load_sample_images().images[index]

    return load


BUILTIN_PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "coffee": _skimage("coffee"),
    "cat": _skimage("chelsea"),
    "rocket": _skimage("rocket"),
    "galaxies": _skimage("hubble_deep_field"),
    "tissue": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "motorbike": _skimage("stereo_motorcycle"),
    "temple": _sklearn(0),
    "flower": _sklearn(1),
    "cameraman": _skimage("camera"),
    "coins": _skimage("coins"),
}
"""The built-in photos (name -> loader of an (H, W[, 3]) uint8 array): scikit-image 0.26's
bundled photos and scikit-learn's two sample images (china.jpg, flower.jpg)."""


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]."""
    pixels = torch.tensor(np.asarray(image), dtype=torch.float32) / 255  # a copy: writable
    if pixels.ndim == 2:
        pixels = pixels.unsqueeze(-1).expand(-1, -1, 3)
    return pixels[..., :3].permute(2, 0, 1).contiguous()


def square_crop(image: torch.Tensor, side: int, top: int, left: int, size: int) -> torch.Tensor:
    """The ``side``-pixel square at (top, left) of (3, H, W), resized to ``size`` (antialiased
    bilinear, so values stay in [0, 1])."""
    crop = image[:, top : top + side, left : left + side].unsqueeze(0)
    resized = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True)
    return resized.squeeze(0).clamp(0, 1)


def builtin_batch(generator: torch.Generator, size: int = IMAGE_SIZE) -> PhotoBatch:
    """The 12 built-in photos, centred squares first (inputs 0-11), then a closer crop of each
    in the same order (inputs 12-23); the close crops' positions come from ``generator``."""
    photos = {name: to_tensor(load()) for name, load in BUILTIN_PHOTOS.items()}
    wide, close = [], []
    for photo in photos.values():
        height, width = photo.shape[-2:]
        short = min(height, width)
        wide.append(square_crop(photo, short, (height - short) // 2, (width - short) // 2, size))
        side = int(short * CLOSE_CROP)
        top = int(torch.randint(height - side + 1, (1,), generator=generator))
        left = int(torch.randint(width - side + 1, (1,), generator=generator))
        close.append(square_crop(photo, side, top, left, size))
    names = tuple(photos)
    labels = torch.arange(len(names)).repeat(2)
    source = (
        f"{len(names)} photos bundled with scikit-image and scikit-learn, each as its centred "
        f"square and a {CLOSE_CROP:.0%} crop"
    )
    return PhotoBatch(
        torch.stack(wide + close), labels, names + tuple(f"{n} (close)" for n in names), source
    )


def imagenet_batch(
    data_dir: Path,
    generator: torch.Generator,
    batch_size: int = BATCH_SIZE,
    size: int = IMAGE_SIZE,
) -> PhotoBatch:
    """``batch_size`` ImageNet validation images: the classes in an order drawn from
    ``generator``, one image of each in turn (a second round when there are fewer classes than
    inputs), each the evaluation view (shorter side 256, centre 224)."""
    from torchvision.datasets import ImageFolder

    from benchmarks.data.imagenet import RESIZE

    val = Path(data_dir).expanduser() / "val"
    if not val.is_dir():
        raise UserError(
            f"no ImageNet validation folder at {val}; pass --imagenet-dir DIR with DIR/val/"
            "<wnid>/*.JPEG (see `comixup-bench train --dataset imagenet --help`), or leave "
            "--imagenet-dir out to use the built-in photos."
        )
    folder = ImageFolder(str(val))
    if len(folder) < batch_size:
        raise UserError(
            f"{val} holds {len(folder)} images; the figures need {batch_size}. Point "
            "--imagenet-dir at the full validation set."
        )
    chosen = _round_robin(folder.targets, len(folder.classes), batch_size, generator)
    resize = RESIZE * size // IMAGE_SIZE
    images = [_evaluation_view(folder.loader(folder.samples[i][0]), resize, size) for i in chosen]
    labels = torch.tensor([folder.targets[i] for i in chosen])
    names = tuple(folder.classes[folder.targets[i]] for i in chosen)
    source = f"ImageNet validation images from {val}, one class after another"
    return PhotoBatch(torch.stack(images), labels, names, source)


def _round_robin(
    targets: list[int], n_classes: int, count: int, generator: torch.Generator
) -> list[int]:
    """Indices of ``count`` images: classes in a random order, images within a class in a
    random order, taking one image per class per round."""
    by_class: list[list[int]] = [[] for _ in range(n_classes)]
    for index, target in enumerate(targets):
        by_class[target].append(index)
    queues = [
        [members[i] for i in torch.randperm(len(members), generator=generator).tolist()]
        for members in by_class
    ]
    order = torch.randperm(n_classes, generator=generator).tolist()
    chosen: list[int] = []
    while len(chosen) < count:
        for c in order:
            if queues[c] and len(chosen) < count:
                chosen.append(queues[c].pop(0))
    return chosen


def _evaluation_view(image, resize: int, size: int = IMAGE_SIZE) -> torch.Tensor:
    from torchvision.transforms import v2

    view = v2.Compose(
        [
            v2.PILToTensor(),
            v2.Resize(resize, antialias=True),
            v2.CenterCrop(size),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )
    return view(image.convert("RGB"))
