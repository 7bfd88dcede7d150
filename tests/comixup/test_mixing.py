"""`co_mixup`, `mix_inputs` and `mix_labels`: valid mixtures and soft labels, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from comixup import CoMixupConfig, co_mixup, mix_inputs, mix_labels, normalize_saliency
from comixup.mixing import partitions

CONFIG = CoMixupConfig()  # paper defaults: partition_size 20, 4x4 grid, |L| = 3


def random_batch(batch_size: int, *, seed: int = 0, channels: int = 3, size: int = 16):
    """Images, class indices (10 classes) and peaked saliency maps."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch_size, channels, size, size, generator=g)
    y = torch.randint(0, 10, (batch_size,), generator=g)
    saliency = torch.rand(batch_size, size, size, generator=g) ** 4
    return x, y, saliency


def identity_images(batch_size: int, size: int = 8) -> torch.Tensor:
    """Image i has B channels, channel i all ones: a mixed image's channels are its weights."""
    return torch.eye(batch_size).view(batch_size, batch_size, 1, 1).expand(-1, -1, size, size)


def check_batch(batch_size: int, partition_size: int = 20) -> None:
    """co_mixup on a batch of ``batch_size``: every invariant that does not depend on the solver.

    Module-level (not a test) so that a subprocess can run it too; see test_batch_sizes.
    """
    config = CoMixupConfig(partition_size=partition_size)
    x = identity_images(batch_size).clone()
    saliency = random_batch(batch_size, seed=batch_size, size=8)[2]
    y = torch.arange(batch_size)
    x_before = x.clone()

    x_mixed, y_soft = co_mixup(
        x, y, saliency, config, generator=torch.Generator().manual_seed(0), num_classes=batch_size
    )

    assert torch.equal(x, x_before)
    assert x_mixed.shape == x.shape
    assert y_soft.shape == (batch_size, batch_size)
    # Per pixel, the weights over the inputs are non-negative and sum to 1.
    assert torch.all(x_mixed >= 0)
    torch.testing.assert_close(x_mixed.sum(1), torch.ones(batch_size, 8, 8))
    # The soft label of an output is the share of its area taken from each input.
    torch.testing.assert_close(y_soft, x_mixed.mean(dim=(2, 3)))
    torch.testing.assert_close(y_soft.sum(1), torch.ones(batch_size))
    # Outputs only mix inputs of their own partition.
    for part in partitions(batch_size, partition_size):
        outside = torch.ones(batch_size, dtype=torch.bool)
        outside[part] = False
        assert torch.all(y_soft[part][:, outside] == 0)
        if part.stop - part.start == 1:  # nothing to mix with: unmixed
            assert torch.equal(x_mixed[part], x[part])
            assert torch.equal(y_soft[part], F.one_hot(y[part], batch_size).float())


@pytest.mark.parametrize("batch_size", [7, 20, 45])
def test_batch_sizes(batch_size):
    check_batch(batch_size)


@pytest.mark.parametrize("batch_size", [1, 21])
def test_batch_sizes_with_a_single_input_partition(batch_size):
    """A partition of one input (a batch of one, or 21 = 20 + 1) comes back unmixed."""
    check_batch(batch_size)


def test_empty_batch_is_rejected():
    x, y, saliency = random_batch(1, channels=3, size=8)
    with pytest.raises(ValueError, match="batch is empty"):
        co_mixup(x[:0], y[:0], saliency[:0], CONFIG, num_classes=10)


def test_partitions():
    assert partitions(45, 20) == [slice(0, 20), slice(20, 40), slice(40, 45)]
    assert partitions(20, 20) == [slice(0, 20)]
    assert partitions(1, 20) == [slice(0, 1)]


def test_shapes_and_one_hot_labels_sum_to_one():
    x, y, saliency = random_batch(7, channels=3, size=32)
    x_mixed, y_soft = co_mixup(x, y, saliency, CONFIG, num_classes=10)
    assert x_mixed.shape == (7, 3, 32, 32)
    assert x_mixed.dtype == x.dtype
    assert y_soft.shape == (7, 10)
    torch.testing.assert_close(y_soft.sum(1), torch.ones(7))
    assert torch.all(y_soft >= 0)
    # Only the classes of the batch can appear.
    absent = torch.ones(10, dtype=torch.bool)
    absent[y] = False
    assert torch.all(y_soft[:, absent] == 0)


def test_soft_input_labels_stay_normalised_and_follow_the_area():
    batch_size = 9
    g = torch.Generator().manual_seed(3)
    y = torch.distributions.Dirichlet(torch.ones(5)).sample((batch_size,))  # soft labels
    saliency = random_batch(batch_size, seed=3, size=8)[2]
    x = identity_images(batch_size)

    x_mixed, y_soft = co_mixup(x, y, saliency, CONFIG, generator=g)

    torch.testing.assert_close(y_soft.sum(1), torch.ones(batch_size))
    torch.testing.assert_close(y_soft, x_mixed.mean(dim=(2, 3)) @ y)


def test_one_hot_float_labels_equal_class_indices():
    x, y, saliency = random_batch(6)
    from_indices = co_mixup(
        x, y, saliency, CONFIG, generator=torch.Generator().manual_seed(1), num_classes=10
    )
    from_one_hot = co_mixup(
        x, F.one_hot(y, 10).float(), saliency, CONFIG, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(from_indices[0], from_one_hot[0])
    assert torch.equal(from_indices[1], from_one_hot[1])


def test_inputs_are_not_modified():
    x, y, saliency = random_batch(7)
    copies = x.clone(), y.clone(), saliency.clone()
    x_mixed, _ = co_mixup(x, y, saliency, CONFIG, num_classes=10)
    assert torch.equal(x, copies[0])
    assert torch.equal(y, copies[1])
    assert torch.equal(saliency, copies[2])
    assert x_mixed.data_ptr() != x.data_ptr()


def test_pixels_are_convex_combinations_within_the_partition():
    x, y, saliency = random_batch(25, seed=5)
    config = CoMixupConfig(partition_size=10)  # partitions 10, 10, 5
    x_mixed, _ = co_mixup(x, y, saliency, config, num_classes=10)
    for part in partitions(25, 10):
        low = x[part].min(dim=0).values
        high = x[part].max(dim=0).values
        assert torch.all(x_mixed[part] >= low - 1e-6)
        assert torch.all(x_mixed[part] <= high + 1e-6)


def test_deterministic_with_a_fixed_generator_and_no_global_state():
    x, y, saliency = random_batch(12)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = co_mixup(
        x, y, saliency, CONFIG, generator=torch.Generator().manual_seed(9), num_classes=10
    )
    second = co_mixup(
        x, y, saliency, CONFIG, generator=torch.Generator().manual_seed(9), num_classes=10
    )
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    # With a generator given, no hidden global random state is drawn from.
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(
        np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state, strict=True)
    )


def test_explicit_compatibility_matrix():
    x, y, saliency = random_batch(7)
    A = torch.eye(7) + 0.1
    x_mixed, y_soft = co_mixup(
        x, y, saliency, CONFIG, A, torch.Generator().manual_seed(0), num_classes=10
    )
    assert x_mixed.shape == x.shape
    torch.testing.assert_close(y_soft.sum(1), torch.ones(7))


def hand_made_labeling() -> torch.Tensor:
    """2 inputs, 2 outputs, 2x2 grid.

    Output 0: the left column from input 1, the right column from input 0.
    Output 1: input 1 everywhere except a half-half top-left block.
    """
    z = torch.zeros(2, 2, 2, 2)
    z[0, :, 0, 1] = 1.0
    z[0, :, 1, 0] = 1.0
    z[1, ..., 1] = 1.0
    z[1, 0, 0] = torch.tensor([0.5, 0.5])
    return z


def test_mix_inputs_on_a_hand_made_labeling():
    x = torch.stack([torch.arange(16.0), 100 + torch.arange(16.0)]).view(2, 1, 4, 4)
    mixed = mix_inputs(hand_made_labeling(), x)

    expected0 = x[0].clone()
    expected0[..., :2] = x[1][..., :2]
    expected1 = x[1].clone()
    expected1[..., :2, :2] = (x[0][..., :2, :2] + x[1][..., :2, :2]) / 2
    assert mixed.shape == (2, 1, 4, 4)
    torch.testing.assert_close(mixed[0], expected0, rtol=0, atol=0)
    torch.testing.assert_close(mixed[1], expected1, rtol=0, atol=0)


def test_mix_labels_on_a_hand_made_labeling():
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # classes 0 and 2
    labels = mix_labels(hand_made_labeling(), y)
    expected = torch.tensor([[0.5, 0.0, 0.5], [0.125, 0.0, 0.875]])
    torch.testing.assert_close(labels, expected, rtol=0, atol=1e-7)


def test_all_zero_saliency_falls_back_to_uniform():
    pooled = torch.rand(3, 4, 4)
    pooled[1] = 0.0
    normalised = normalize_saliency(pooled)
    torch.testing.assert_close(normalised[1], torch.full((4, 4), 1 / 16))
    torch.testing.assert_close(normalised[0], pooled[0] / pooled[0].sum())
    torch.testing.assert_close(normalised.sum(dim=(1, 2)), torch.ones(3))

    x, y, saliency = random_batch(5)
    saliency[2] = 0.0
    x_mixed, y_soft = co_mixup(
        x, y, saliency, CONFIG, generator=torch.Generator().manual_seed(0), num_classes=10
    )
    assert torch.isfinite(x_mixed).all()
    torch.testing.assert_close(y_soft.sum(1), torch.ones(5))

    all_zero = torch.zeros_like(saliency)
    x_mixed, y_soft = co_mixup(x, y, all_zero, CONFIG, num_classes=10)
    assert torch.isfinite(x_mixed).all()
    torch.testing.assert_close(y_soft.sum(1), torch.ones(5))


def _with_saliency_value(value: float):
    def overrides(args):
        saliency = args["saliency"].clone()
        saliency[1, 2, 3] = value
        return {"saliency": saliency}

    return overrides


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (_with_saliency_value(float("nan")), "saliency contains NaN or inf values"),
        (_with_saliency_value(float("inf")), "saliency contains NaN or inf values"),
        (_with_saliency_value(-1e-3), "saliency must be non-negative"),
        (lambda a: {"y": a["y"][:-1]}, r"batch sizes disagree: \{'x': 6, 'y': 5, 'saliency': 6\}"),
        (lambda a: {"saliency": a["saliency"][:-1]}, "batch sizes disagree"),
        (lambda a: {"x": a["x"][:-2]}, "batch sizes disagree"),
        (
            lambda a: {"x": a["x"][..., :15, :15], "saliency": a["saliency"][..., :15, :15]},
            "a 4x4 grid does not divide the 15x15 input",
        ),
        (lambda a: {"x": (a["x"] * 255).to(torch.uint8)}, "x must be a floating-point tensor"),
        (lambda a: {"saliency": a["saliency"][..., :8, :8]}, r"saliency maps are \(8, 8\)"),
        (lambda a: {"saliency": a["saliency"][:, None]}, r"saliency must have shape \(B, H, W\)"),
        (lambda a: {"saliency": a["saliency"].double() > 0.5}, "saliency must be a floating"),
        (lambda a: {"x": a["x"][:, 0]}, r"x must be a batch of images \(B, C, H, W\)"),
        (lambda a: {"num_classes": None}, "num_classes is needed"),
        (lambda a: {"num_classes": 3}, r"class indices must lie in \[0, 3\), got \[0, 9\]"),
        (lambda a: {"y": a["y"] - 1}, r"class indices must lie in \[0, 10\), got \[-1, 8\]"),
        (lambda a: {"y": a["y"].float()}, "must be integer class indices"),
        (
            lambda a: {"y": F.one_hot(a["y"], 10).float(), "num_classes": 11},
            "soft labels have 10 classes, num_classes is 11",
        ),
        (lambda a: {"y": a["y"].view(6, 1, 1)}, "labels must be class indices"),
        (lambda a: {"A": torch.eye(5)}, r"A must be the \(6, 6\) compatibility matrix"),
        (lambda a: {"A": torch.eye(6)[:, :5]}, r"A must be the \(6, 6\) compatibility matrix"),
    ],
)
def test_bad_input_raises(overrides, message):
    x, y, saliency = random_batch(6)
    y[0], y[1] = 9, 0  # class range [0, 9]
    args = {"x": x, "y": y, "saliency": saliency, "num_classes": 10}
    args.update(overrides(args))
    x, y, saliency = args.pop("x"), args.pop("y"), args.pop("saliency")
    with pytest.raises(ValueError, match=message):
        co_mixup(x, y, saliency, CONFIG, **args)


def test_block_wise_mixing_equals_the_per_pixel_sum_of_the_upsampled_labeling():
    from comixup.mixing import upsample_labeling

    generator = torch.Generator().manual_seed(3)
    # Soft weights, a 2x3 grid on a 6x12 image, 5 inputs to 4 outputs: no shape is square.
    z = torch.rand(4, 2, 3, 5, generator=generator).softmax(dim=-1)
    x = torch.randn(5, 3, 6, 12, generator=generator, dtype=torch.float64)
    per_pixel = torch.einsum("jmhw,mchw->jchw", upsample_labeling(z.double(), (6, 12)), x)
    torch.testing.assert_close(mix_inputs(z, x), per_pixel)
    one_hot = torch.nn.functional.one_hot(z.argmax(dim=-1), 5).float()
    exact = torch.einsum("jmhw,mchw->jchw", upsample_labeling(one_hot.double(), (6, 12)), x)
    assert torch.equal(mix_inputs(one_hot, x), exact)
    with pytest.raises(ValueError, match="a 2x3 labeling does not divide a 6x10 image"):
        mix_inputs(z, x[..., :10])
    with pytest.raises(ValueError, match="mixes 5 inputs but x holds 4"):
        mix_inputs(z, x[:4])


def test_grid_that_does_not_divide_the_image():
    x, y, saliency = random_batch(3, size=30)
    with pytest.raises(ValueError, match="a 4x4 grid does not divide the 30x30 input"):
        co_mixup(x, y, saliency, CONFIG, num_classes=10)


def test_upsampling_keeps_exact_block_boundaries():
    from comixup.mixing import upsample_labeling

    z = torch.zeros(1, 4, 4, 2)
    z[0, 1, :, 1] = 1  # second block row from input 1
    z[..., 0] = 1 - z[..., 1]
    weights = upsample_labeling(z, (164, 164))  # 41-pixel blocks
    rows = weights[0, 1, :, 0]
    assert torch.equal(rows.nonzero().flatten(), torch.arange(41, 82))
