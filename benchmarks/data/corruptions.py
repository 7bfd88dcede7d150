"""Background-corrupted test sets (Co-Mixup, Kim et al., ICLR 2021, Section 7 and Appendix):
the object inside its ground-truth boxes kept, the background around it changed.

With ``z_j`` the foreground mask of image ``x_j`` (1 inside any of its boxes, :func:`box_mask`):

- replacement: ``x~_j = x_j * z_j + x_i(j) * (1 - z_j)``, ``i`` a random permutation of the
  images (:func:`background_permutation`; drawn without fixed points, so no image keeps its
  own background);
- Gaussian noise: outside the boxes, noise of standard deviation 0.1 is *added* to the image,
  and the pixels are clipped to [0, 1]: ``x~_j = clip(x_j + eps_j * (1 - z_j), 0, 1)``,
  ``eps ~ N(0, 0.1^2)``. The supplement's formula instead replaces the background by the noise
  alone (``x_j * z_j + eps_j * (1 - z_j)``); ``replace_background=True`` gives that reading.
  The official code (``snu-mllab/Co-Mixup``, ``comix-localization/``) does not settle it: it
  holds no generator, only ``data/download_data.sh``, which fetches the three sets ready-made
  (pickled arrays) from Google Drive, and ``dataset.py``, which reads them. What that code does
  fix, and this module follows: the corruption is made on the un-normalised image in [0, 1]
  (``dataset.py`` normalises after reading), on the image already resized, and before the
  centre crop, boxes scaled with it. Here it is made after the crop as well (the stored image
  is the model's input, so the noise statistics are those of the input pixels).

:func:`write_corrupted_sets` materialises the clean set and both corruptions once, in the
ImageFolder layout with one XML per image (:mod:`benchmarks.data.boxes`), at the model's input
size (so the evaluation transform is the identity and boxes stay aligned), reproducibly from a
seed; a folder already made with the same settings is reused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.data import boxed_builtin
from benchmarks.data.boxes import Box, BoxedImages, box_mask, snap_boxes, write_boxes, write_once

NOISE_STD = 0.1
"""Standard deviation of the background noise, in [0, 1] pixel units (the paper's 0.1)."""
SETS = ("clean", "replacement", "noise")
"""The folders :func:`write_corrupted_sets` writes."""


def background_permutation(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random permutation of ``range(n)`` with no fixed point: image ``j`` takes its
    background from image ``perm[j] != j``. ``n`` must be at least 2."""
    if n < 2:
        raise ValueError(f"a background from another image needs at least 2 images, got {n}.")
    # Redraw until no fixed point: about e draws on average, all from `generator`.
    while True:
        permutation = torch.randperm(n, generator=generator)
        if not (permutation == torch.arange(n)).any():
            return permutation


def _check(images: torch.Tensor, masks: torch.Tensor) -> None:
    if images.ndim != 4 or masks.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(
            f"expected images (N, C, H, W) and foreground masks (N, H, W), got "
            f"{tuple(images.shape)} and {tuple(masks.shape)}."
        )
    if masks.dtype != torch.bool:
        raise ValueError(f"masks must be bool (box_mask gives them), got {masks.dtype}.")


def replacement(
    images: torch.Tensor, masks: torch.Tensor, permutation: torch.Tensor
) -> torch.Tensor:
    """``images * z + images[permutation] * (1 - z)``: each image's background from another.

    ``images`` ``(N, C, H, W)``, ``masks`` bool ``(N, H, W)`` (True on the foreground), and
    ``permutation`` ``(N,)`` (:func:`background_permutation`).
    """
    _check(images, masks)
    if permutation.shape != (images.shape[0],):
        raise ValueError(
            f"permutation needs one index per image ({images.shape[0]}), got "
            f"{tuple(permutation.shape)}."
        )
    return torch.where(masks[:, None], images, images[permutation])


def gaussian_noise(
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    std: float,
    generator: torch.Generator,
    replace_background: bool = False,
) -> torch.Tensor:
    """Gaussian noise of ``std`` on the background, pixels clipped to [0, 1].

    ``images`` in [0, 1], ``(N, C, H, W)``; ``masks`` bool ``(N, H, W)``. By default the noise is
    added to the background (``clip(x + eps (1 - z))``); with ``replace_background`` the
    background becomes the noise alone (``clip(x z + eps (1 - z))``, the supplement's formula).
    The noise is drawn on the images' device, one value per pixel and channel.
    """
    _check(images, masks)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}.")
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype, device=images.device)
    background = noise * std if replace_background else images + noise * std
    return torch.where(masks[:, None], images, background).clamp(0.0, 1.0)


def _save_png(image: torch.Tensor, path: Path) -> None:
    # numpy, not torch: per-image torch ops pay a thread-pool wake-up each on a busy machine.
    pixels = np.clip(np.round(image.numpy().transpose(1, 2, 0) * 255), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


WRITE_BATCH = 256
"""Images corrupted together by :func:`write_corrupted_sets` (one noise draw per batch)."""


def _write_batch(
    source: BoxedImages,
    indices: range,
    permutation: torch.Tensor,
    generator: torch.Generator,
    staging: Path,
    std: float,
    replace_background: bool,
) -> None:
    items = [source[j] for j in indices]
    images = torch.stack([image for image, _, _ in items])
    boxes = [snap_boxes(item_boxes) for _, _, item_boxes in items]
    masks = torch.stack([box_mask(b, *images.shape[2:]) for b in boxes])
    others = torch.stack([source[int(permutation[j])][0] for j in indices])
    # Batch and background sources side by side: image k takes its background from k + n.
    n = len(indices)
    swap = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    versions = {
        "clean": images,
        "replacement": replacement(torch.cat([images, others]), torch.cat([masks, masks]), swap)[
            :n
        ],
        "noise": gaussian_noise(
            images, masks, std=std, generator=generator, replace_background=replace_background
        ),
    }
    size = source.image_size
    for k, (j, (_, label, _)) in enumerate(zip(indices, items, strict=True)):
        stem, cls = source.samples[j][0].stem, source.classes[label]
        for name, batch in versions.items():
            _save_png(batch[k], staging / name / cls / f"{stem}.png")
            write_boxes(
                staging / name / f"{stem}.xml",
                filename=stem,
                width=size,
                height=size,
                boxes=[Box(*b) for b in boxes[k].tolist()],
                name=cls,
                folder=name,
            )


def write_corrupted_sets(
    source: BoxedImages,
    out_dir: str | Path,
    *,
    seed: int,
    std: float = NOISE_STD,
    replace_background: bool = False,
) -> dict[str, Path]:
    """Write ``clean``, ``replacement`` and ``noise`` versions of ``source`` into ``out_dir``.

    Each set is ``out_dir/<set>/<class>/<stem>.png`` with ``out_dir/<set>/<stem>.xml``: the
    image after ``source``'s evaluation transform (``image_size`` square, 8-bit PNG) and its
    boxes in those pixels, snapped to whole pixels (:func:`snap_boxes`, which keeps their mask),
    so ``BoxedImages(out_dir / set, source.image_size)`` reads them back aligned. One generator
    seeded with ``seed`` draws the permutation, then the noise of each batch of
    :data:`WRITE_BATCH` images in the source's order (one ``(batch, C, H, W)`` draw each). A
    folder already written from the same source files, seed and settings is reused; returns
    ``{set name: folder}``.

    Raises:
        ValueError: ``out_dir`` is a non-empty folder this package did not make, or ``source``
            has fewer than 2 images.
    """
    settings = {
        "kind": "background-corruptions",
        "source": str(source.root.resolve()),
        # The source's files as they are now: a source remade in place (boxed-digits after a
        # change of its settings) must not be answered with corruptions of its old images.
        "source files": files_digest(source.root),
        "images": len(source),
        "image_size": source.image_size,
        "resize": source.resize,
        "seed": seed,
        "std": std,
        "replace_background": replace_background,
    }

    def write(staging: Path) -> None:
        generator = torch.Generator().manual_seed(seed)
        permutation = background_permutation(len(source), generator)
        for first in range(0, len(source), WRITE_BATCH):
            indices = range(first, min(first + WRITE_BATCH, len(source)))
            _write_batch(source, indices, permutation, generator, staging, std, replace_background)

    out = write_once(out_dir, settings, write)
    return {name: out / name for name in SETS}


def files_digest(root: Path) -> str:
    """A digest of every file under ``root``: relative path, size and modification time (stat
    only, so ImageNet's 100,000 validation files take about a second)."""
    digest = hashlib.sha1()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        status = path.stat()
        digest.update(
            f"{path.relative_to(root)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def default_out_dir(dataset: str, data_dir: str | Path | None, seed: int) -> Path:
    """Where :func:`prepare_corrupted_sets` writes by default:
    ``<data_dir or ~/.cache/comixup-bench>/<dataset>-corrupted-seed<seed>``."""
    root = Path(data_dir if data_dir is not None else boxed_builtin.DEFAULT_ROOT).expanduser()
    return root / f"{dataset}-corrupted-seed{seed}"


def prepare_corrupted_sets(
    dataset: str,
    data_dir: str | Path | None,
    *,
    seed: int,
    out_dir: str | Path | None = None,
    boxes_dir: str | Path | None = None,
) -> dict[str, Path]:
    """The clean, replacement and noise test sets of ``dataset`` (one of
    ``benchmarks.data.BOXED_DATASETS``), written on first use (:func:`write_corrupted_sets`)
    into ``out_dir`` (default :func:`default_out_dir`). Read each back with
    ``BoxedImages(folder, dataset_spec(dataset).image_size)``.

    Raises:
        ValueError: ``dataset`` has no boxes.
        DatasetNotFoundError: its images or boxes are missing (the message says how to get
            them).
    """
    from benchmarks.data import build_boxed_test_set  # the registry imports this module's peers

    source = build_boxed_test_set(dataset, data_dir, boxes_dir=boxes_dir)
    out = out_dir if out_dir is not None else default_out_dir(dataset, data_dir, seed)
    return write_corrupted_sets(source, out, seed=seed)


__all__ = [
    "NOISE_STD",
    "SETS",
    "background_permutation",
    "default_out_dir",
    "gaussian_noise",
    "prepare_corrupted_sets",
    "replacement",
    "write_corrupted_sets",
]
