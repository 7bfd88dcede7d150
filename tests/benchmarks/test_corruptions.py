"""Background corruptions against an independent computation on tiny images with known boxes,
and the writer that puts the clean and corrupted sets on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.data.boxes import Box, BoxedImages, read_boxes, write_boxes
from benchmarks.data.corruptions import (
    SETS,
    background_permutation,
    gaussian_noise,
    replacement,
    write_corrupted_sets,
)

# Two 4x5 images; image 0's box covers rows 1-2, columns 1-3; image 1's the top-left pixel.
BOXES = [(1, 1, 4, 3), (0, 0, 1, 1)]


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(0, 1, (2, 3, 4, 5))).float()
    images[:, :, 3, :] = 0.99  # a bright row, where the noise must clip at 1
    images[:, :, 0, 4] = 0.01  # and a dark pixel, where it must clip at 0
    masks = torch.zeros(2, 4, 5, dtype=torch.bool)
    for n, (xmin, ymin, xmax, ymax) in enumerate(BOXES):
        masks[n, ymin:ymax, xmin:xmax] = True
    return images, masks


def test_replacement_keeps_the_foreground_and_takes_the_background_of_another_image():
    images, masks = _images()
    out = replacement(images, masks, torch.tensor([1, 0]))
    x = images.numpy()
    for n, other in ((0, 1), (1, 0)):
        for row in range(4):
            for col in range(5):
                xmin, ymin, xmax, ymax = BOXES[n]
                inside = xmin <= col < xmax and ymin <= row < ymax
                expected = x[n, :, row, col] if inside else x[other, :, row, col]
                assert out[n, :, row, col].tolist() == expected.tolist()


@pytest.mark.parametrize("replace_background", [False, True])
def test_gaussian_noise_on_the_background_only_clipped_to_the_unit_range(replace_background):
    images, masks = _images()
    out = gaussian_noise(
        images,
        masks,
        std=0.1,
        generator=torch.Generator().manual_seed(7),
        replace_background=replace_background,
    )
    noise = torch.randn((2, 3, 4, 5), generator=torch.Generator().manual_seed(7)).numpy()
    x, inside = images.numpy(), masks.numpy()[:, None].repeat(3, axis=1)
    background = 0.1 * noise if replace_background else x + 0.1 * noise
    expected = np.where(inside, x, np.clip(background, 0.0, 1.0))
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-6)
    assert (out.numpy()[inside] == x[inside]).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    # The clipping was needed: unclipped values leave [0, 1] on the background.
    assert ((background < 0) | (background > 1))[~inside].any()


def test_corruptions_reject_mismatched_masks():
    images, masks = _images()
    with pytest.raises(ValueError, match="foreground masks"):
        replacement(images, masks[:, :3], torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="must be bool"):
        gaussian_noise(images, masks.float(), std=0.1, generator=torch.Generator())


def test_background_permutation_is_reproducible_with_no_fixed_point():
    first = background_permutation(50, torch.Generator().manual_seed(3))
    assert torch.equal(first, background_permutation(50, torch.Generator().manual_seed(3)))
    assert sorted(first.tolist()) == list(range(50))
    assert not (first == torch.arange(50)).any()
    assert not torch.equal(first, background_permutation(50, torch.Generator().manual_seed(4)))
    assert background_permutation(2, torch.Generator()).tolist() == [1, 0]
    with pytest.raises(ValueError, match="at least 2"):
        background_permutation(1, torch.Generator())


# --- the sets on disk -------------------------------------------------------------------------


def _source(root: Path) -> BoxedImages:
    """Three random 16x12 images in two classes, each with one box, in the boxed layout."""
    rng = np.random.default_rng(1)
    fixtures = [
        ("a", "img0", Box(2, 3, 9, 8)),
        ("a", "img1", Box(0, 0, 16, 4)),
        ("b", "img2", Box(5, 5, 6, 6)),
    ]
    for cls, stem, box in fixtures:
        (root / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(
            root / cls / f"{stem}.png"
        )
        write_boxes(root / f"{stem}.xml", filename=stem, width=16, height=12, boxes=[box], name=cls)
    return BoxedImages(root, 8, resize=8)  # 16x12 -> 10x8 (int(8 * 16 / 12)), left 1


def test_written_sets_match_the_formulas_and_keep_the_boxes(tmp_path):
    source = _source(tmp_path / "source")
    folders = write_corrupted_sets(source, tmp_path / "out", seed=5)
    assert list(folders) == list(SETS)
    sets = {name: BoxedImages(folder, 8) for name, folder in folders.items()}
    generator = torch.Generator().manual_seed(5)
    permutation = background_permutation(3, generator)
    noises = torch.randn((3, 3, 8, 8), generator=generator)  # one batch: every image at once
    for j in range(3):
        image, label, boxes = source[j]
        clean, clean_label, clean_boxes = sets["clean"][j]
        assert clean_label == label and sets["clean"].samples[j][0].stem == f"img{j}"
        assert torch.equal(clean, image)  # 8-bit images round-trip exactly
        assert torch.equal(clean_boxes, torch.ceil(boxes - 0.5))
        inside = np.zeros((8, 8), dtype=bool)
        xmin, ymin, xmax, ymax = (int(v) for v in clean_boxes[0])
        inside[ymin:ymax, xmin:xmax] = True
        replaced = sets["replacement"][j][0].numpy()
        other = source[int(permutation[j])][0].numpy()
        assert (replaced[:, inside] == image.numpy()[:, inside]).all()
        assert (replaced[:, ~inside] == other[:, ~inside]).all()
        noisy = sets["noise"][j][0].numpy()
        noise = noises[j].numpy()
        expected = np.clip(image.numpy() + 0.1 * noise, 0, 1)
        assert (noisy[:, inside] == image.numpy()[:, inside]).all()
        np.testing.assert_allclose(noisy[:, ~inside], expected[:, ~inside], atol=0.5 / 255 + 1e-6)
        for name in SETS:
            assert read_boxes(folders[name] / f"img{j}.xml")[:2] == (8, 8)


def test_sets_are_reused_with_the_same_settings_and_remade_with_others(tmp_path):
    source = _source(tmp_path / "source")
    out = tmp_path / "out"
    noisy = write_corrupted_sets(source, out, seed=5)["noise"] / "a" / "img0.png"
    noisy.write_bytes(b"touched")  # reuse means: not written again
    write_corrupted_sets(source, out, seed=5)
    assert noisy.read_bytes() == b"touched"
    write_corrupted_sets(source, out, seed=6)
    assert noisy.read_bytes() != b"touched"
    with pytest.raises(ValueError, match="not made by comixup-bench"):
        write_corrupted_sets(source, tmp_path / "source", seed=5)


def test_sets_are_remade_when_their_source_is_remade(tmp_path):
    """A source rebuilt in place (the boxed digits after a change of their settings) gets new
    corrupted sets, not the old images' ones."""
    source = _source(tmp_path / "source")
    clean = write_corrupted_sets(source, tmp_path / "out", seed=5)["clean"] / "a" / "img0.png"
    before = np.asarray(Image.open(clean))
    Image.fromarray(np.zeros((12, 16, 3), dtype=np.uint8)).save(tmp_path / "source/a/img0.png")
    write_corrupted_sets(BoxedImages(tmp_path / "source", 8, resize=8), tmp_path / "out", seed=5)
    after = np.asarray(Image.open(clean))
    assert before.any() and not after.any()  # the new, black source image
