"""Puzzle Mix: the training step, the mixer's invariants, the graph cut and the transport."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from baselines.pairs import Pairing
from baselines.puzzle_mix import (
    Geometry,
    PuzzleMixConfig,
    PuzzleMixMethod,
    PuzzleMixParams,
    boundary_steps,
    complete_assignment,
    draw_params,
    geometry,
    graph_cut_mask,
    greedy_assignment,
    label_prior,
    mix_with_params,
    move_blocks,
    puzzle_mix,
    realised_lambda,
    transport_sources,
)
from baselines.puzzle_mix.adversarial import AdversarialNoise, attack, random_start
from baselines.puzzle_mix.graphcut import pixel_scale
from benchmarks.data import dataset_spec
from benchmarks.methods import get_method
from comixup.grid import block_index, upsample_blocks
from comixup.method import (
    CLEAN_ACCURACY,
    LAMBDA,
    MIXING_SECONDS,
    SALIENCY_SECONDS,
    Method,
)

NUM_CLASSES = 7
SIZE = 16
CONFIG = PuzzleMixConfig()


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, NUM_CLASSES),
    )


def batch(batch_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images in [0, 1], class indices, and a saliency with one bright spot per image."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch_size, 3, SIZE, SIZE, generator=g)
    y = torch.randint(0, NUM_CLASSES, (batch_size,), generator=g)
    saliency = 0.05 * torch.rand(batch_size, SIZE, SIZE, generator=g)
    rows = torch.randint(0, SIZE - 4, (batch_size,), generator=g)
    cols = torch.randint(0, SIZE - 4, (batch_size,), generator=g)
    for i in range(batch_size):
        saliency[i, rows[i] : rows[i] + 4, cols[i] : cols[i] + 4] += 1.0
    return x, y, saliency


def params(block_num: int, permutation: list[int], lam: float) -> PuzzleMixParams:
    n = len(permutation)
    return PuzzleMixParams(block_num, Pairing(torch.tensor(permutation), torch.full((n,), lam)))


# --- the training step ---------------------------------------------------------------------


def test_puzzle_mix_is_a_method():
    assert isinstance(PuzzleMixMethod(NUM_CLASSES), Method)


@pytest.mark.parametrize("clean_lam", [1.0, 0.0])
def test_loss_is_finite_and_reaches_every_parameter(clean_lam):
    model = tiny_model()
    x, y, _ = batch(6)
    method = PuzzleMixMethod(NUM_CLASSES, dataclasses.replace(CONFIG, clean_lam=clean_lam))

    loss, stats = method.loss(model, x, y, generator=torch.Generator().manual_seed(3))
    loss.backward()

    assert torch.isfinite(loss)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert set(stats) == {CLEAN_ACCURACY, LAMBDA, SALIENCY_SECONDS, MIXING_SECONDS}
    assert 0 <= stats[LAMBDA] <= 1
    assert model.training


def test_seeded_loss_is_deterministic():
    x, y, _ = batch(5)
    method = PuzzleMixMethod(NUM_CLASSES)
    model = tiny_model()
    first, stats_a = method.loss(model, x, y, generator=torch.Generator().manual_seed(11))
    second, stats_b = method.loss(model, x, y, generator=torch.Generator().manual_seed(11))
    assert first.item() == second.item()
    assert stats_a[LAMBDA] == stats_b[LAMBDA]


# --- the mixer -----------------------------------------------------------------------------


def test_soft_labels_sum_to_one_on_the_two_mixed_classes():
    x, _, saliency = batch(9, seed=1)
    y = torch.arange(9) % NUM_CLASSES
    for seed in range(4):
        drawn = draw_params(9, CONFIG, torch.Generator().manual_seed(seed))
        y_onehot = nn.functional.one_hot(y, NUM_CLASSES).float()
        result = mix_with_params(x, y_onehot, saliency, drawn, CONFIG)
        x_mixed, y_soft = puzzle_mix(
            x,
            y,
            saliency,
            CONFIG,
            num_classes=NUM_CLASSES,
            generator=torch.Generator().manual_seed(seed),
        )

        torch.testing.assert_close(x_mixed, result.x_mixed)
        torch.testing.assert_close(y_soft, result.y_soft)
        torch.testing.assert_close(y_soft.sum(1), torch.ones(9))
        partner = y[drawn.pairing.permutation]
        lam = realised_lambda(result.mask)
        for i in range(9):
            support = set(torch.nonzero(y_soft[i]).flatten().tolist())
            assert support <= {int(y[i]), int(partner[i])}
            if y[i] != partner[i]:
                torch.testing.assert_close(y_soft[i, y[i]], lam[i])


def test_seeded_mix_is_deterministic_and_leaves_x_alone():
    x, y, saliency = batch(6, seed=2)
    x_before, saliency_before = x.clone(), saliency.clone()
    outputs = [
        puzzle_mix(
            x,
            y,
            saliency,
            CONFIG,
            num_classes=NUM_CLASSES,
            generator=torch.Generator().manual_seed(5),
        )
        for _ in range(2)
    ]
    assert torch.equal(outputs[0][0], outputs[1][0])
    assert torch.equal(outputs[0][1], outputs[1][1])
    assert torch.equal(x, x_before)
    assert torch.equal(saliency, saliency_before)
    assert outputs[0][0].data_ptr() != x.data_ptr()


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_any_batch_size(batch_size):
    x, y, saliency = batch(batch_size, seed=batch_size)
    for seed in range(4):  # several draws of the grid side
        x_mixed, y_soft = puzzle_mix(
            x,
            y,
            saliency,
            CONFIG,
            num_classes=NUM_CLASSES,
            generator=torch.Generator().manual_seed(seed),
        )
        assert x_mixed.shape == x.shape
        assert torch.isfinite(x_mixed).all()
        torch.testing.assert_close(y_soft.sum(1), torch.ones(batch_size))


def test_soft_label_inputs_mix_as_the_pair():
    x, _, saliency = batch(4, seed=3)
    g = torch.Generator().manual_seed(9)
    soft = torch.softmax(torch.randn(4, NUM_CLASSES, generator=g), dim=1)
    _, y_soft = puzzle_mix(x, soft, saliency, CONFIG, generator=torch.Generator().manual_seed(0))
    drawn = draw_params(4, CONFIG, torch.Generator().manual_seed(0))
    mask = mix_with_params(x, soft, saliency, drawn, CONFIG).mask
    lam = realised_lambda(mask).unsqueeze(1)
    torch.testing.assert_close(y_soft, lam * soft + (1 - lam) * soft[drawn.pairing.permutation])
    torch.testing.assert_close(y_soft.sum(1), torch.ones(4))


def test_per_sample_lambda_draws_one_lambda_per_pair():
    config = dataclasses.replace(CONFIG, per_sample_lambda=True)
    drawn = draw_params(8, config, torch.Generator().manual_seed(0))
    assert drawn.pairing.lam.unique().numel() == 8
    per_batch = draw_params(8, CONFIG, torch.Generator().manual_seed(0))
    assert per_batch.pairing.lam.unique().numel() == 1
    assert per_batch.block_num in CONFIG.block_nums


def test_without_transport_each_pixel_is_the_mask_weighted_pair():
    x, y, saliency = batch(5, seed=4)
    config = dataclasses.replace(CONFIG, transport=False)
    drawn = params(4, [1, 2, 3, 4, 0], 0.5)
    y_onehot = nn.functional.one_hot(y, NUM_CLASSES).float()
    result = mix_with_params(x, y_onehot, saliency, drawn, config)
    weight = result.mask.repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1)
    expected = weight * x + (1 - weight) * x[[1, 2, 3, 4, 0]]
    torch.testing.assert_close(result.x_mixed, expected)


# --- the graph cut -------------------------------------------------------------------------


@pytest.mark.parametrize("n_labels", [2, 3, 4])
def test_mask_takes_only_the_label_levels_and_lambda_is_its_mean(n_labels):
    x, y, saliency = batch(6, seed=5)
    config = dataclasses.replace(CONFIG, n_labels=n_labels)
    levels = torch.linspace(0, 1, n_labels, dtype=torch.float64)
    y_onehot = nn.functional.one_hot(y, NUM_CLASSES).float()
    for block_num in (2, 4, 8):
        for lam in (0.2, 0.5, 0.7):
            drawn = params(block_num, [5, 4, 3, 2, 1, 0], lam)
            result = mix_with_params(x, y_onehot, saliency, drawn, config)
            mask = result.mask.double()
            assert mask.shape == (6, block_num, block_num)
            assert torch.isclose(mask.unsqueeze(-1), levels).any(-1).all()
            lam_real = realised_lambda(result.mask)
            torch.testing.assert_close(lam_real, result.mask.flatten(1).mean(1))
            mixed_pair = y != y[[5, 4, 3, 2, 1, 0]]
            torch.testing.assert_close(
                result.y_soft[mixed_pair].gather(1, y[mixed_pair, None]).squeeze(1),
                lam_real[mixed_pair],
            )


def test_without_prior_or_smoothness_each_block_shows_the_more_salient_input():
    g = torch.Generator().manual_seed(6)
    x = torch.rand(4, 3, SIZE, SIZE, generator=g)
    saliency = torch.rand(4, SIZE, SIZE, generator=g)
    config = PuzzleMixConfig(beta=0.0, gamma=0.0, eta=0.0, transport=False)
    mask = graph_cut_mask(x, saliency, params(4, [1, 0, 3, 2], 0.5), config)
    pooled = torch.nn.functional.avg_pool2d(saliency, 4)
    pooled = pooled / pooled.sum((1, 2), keepdim=True)
    assert torch.equal(mask, (pooled > pooled[[1, 0, 3, 2]]).float())


def test_the_prior_follows_lambda_on_flat_saliency():
    x = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(7))
    saliency = torch.ones(2, SIZE, SIZE)
    for lam, level in ((0.95, 1.0), (0.5, 0.5), (0.05, 0.0)):
        mask = graph_cut_mask(x, saliency, params(4, [1, 0], lam), CONFIG)
        assert torch.equal(mask, torch.full_like(mask, level))


def test_label_prior_is_the_binomial_of_lambda():
    prior = label_prior(np.array([0.3]), 3, eta=1.0, n_blocks=1)
    expected = -np.log(np.array([0.09, 0.42, 0.49]) + 1e-8)
    np.testing.assert_allclose(prior[0], expected)


# --- the transport -------------------------------------------------------------------------


def numbered_image(side: int, block: int) -> torch.Tensor:
    """(1, 2, side*block, side*block): block k is filled with k (channel 0) and -k (1)."""
    ids = torch.arange(side * side, dtype=torch.float32).view(side, side)
    plane = ids.repeat_interleave(block, 0).repeat_interleave(block, 1)
    return torch.stack([plane, -plane]).unsqueeze(0)


def block_ids(image: torch.Tensor, side: int) -> torch.Tensor:
    block = image.shape[-1] // side
    return image[0, 0, ::block, ::block].flatten()


def test_transport_moves_salient_blocks_into_view_and_keeps_every_block():
    side = 4
    mask = torch.zeros(1, side, side)
    mask[0, :, :2] = 1.0  # the image shows in its left half only
    saliency = torch.full((1, side, side), 0.01)
    saliency[0, 1, 2] = 0.5  # salient block just right of the visible region
    saliency[0, 2, 3] = 0.45  # salient block two columns away
    saliency = saliency / saliency.sum()
    image = numbered_image(side, block=3)

    sources = transport_sources(mask, saliency, eps=0.8)
    moved = move_blocks(image, sources, side)

    ids = block_ids(moved, side)
    assert sorted(ids.tolist()) == list(range(side * side))
    shown = set(ids.view(side, side)[:, :2].flatten().tolist())
    assert {6, 11} <= shown  # blocks (1, 2) and (2, 3) moved into view
    assert int(ids[5]) == 6  # the closest visible block took (1, 2)
    assert int(ids[9]) == 11  # and the one in the same row took (2, 3)
    # Every pixel still comes from the block it is labelled with.
    torch.testing.assert_close(moved[0, 1], -moved[0, 0])
    assert torch.equal(moved[0, 0, :3, :3], torch.full((3, 3), float(ids[0])))


def test_transport_is_the_identity_when_everything_shows():
    mask = torch.ones(2, 4, 4)
    saliency = torch.rand(2, 4, 4, generator=torch.Generator().manual_seed(8)) + 0.01
    saliency = saliency / saliency.sum((1, 2), keepdim=True)
    sources = transport_sources(mask, saliency, eps=0.8)
    assert torch.equal(sources, torch.arange(16).expand(2, 16))


def test_completion_fills_free_destinations_with_free_sources():
    # Source 3 won destination 0; sources 0, 1, 2 lost; 1 and 2 stay, 0 takes what is left.
    assert complete_assignment(torch.tensor([[-1, -1, -1, 0]])).tolist() == [[3, 1, 2, 0]]


def test_greedy_assignment_resolves_conflicts_like_the_official_column_fight():
    # Sources 0 and 1 both want destination 1; 1 is cheaper and wins. Source 0 then pays 1
    # more there and its next best, destination 0 at cost -0.1, is uncontested.
    cost = torch.tensor([[[-0.1, -0.5, 0.3], [0.2, -0.9, 0.3], [0.2, 0.3, -0.2]]])
    assert greedy_assignment(cost, n_iter=1).tolist() == [[-1, 1, 2]]
    assert greedy_assignment(cost, n_iter=2).tolist() == [[0, 1, 2]]
    # A claim that costs more than 0 loses to a source that does not claim it ...
    assert greedy_assignment(torch.tensor([[[0.5, 0.7], [0.6, -0.9]]]), 1).tolist() == [[-1, 1]]
    # ... but wins when every source claims the same destination.
    assert greedy_assignment(torch.tensor([[[0.5, 0.7], [0.6, 0.9]]]), 1).tolist() == [[0, -1]]


@pytest.mark.parametrize("seed", range(3))
def test_transport_is_a_permutation_of_blocks_on_random_masks(seed):
    g = torch.Generator().manual_seed(seed)
    mask = torch.randint(0, 3, (5, 8, 8), generator=g) / 2
    saliency = torch.rand(5, 8, 8, generator=g) ** 4
    saliency = saliency / saliency.sum((1, 2), keepdim=True)
    sources = transport_sources(mask, saliency, eps=0.8)
    assert torch.equal(sources.sort(1).values, torch.arange(64).expand(5, 64))


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_raises_with_a_fix():
    x, y, saliency = batch(4)
    g = torch.Generator().manual_seed(0)

    def mix(**kwargs):
        args = {"x": x, "y": y, "saliency": saliency, "config": CONFIG}
        args.update(kwargs)
        return puzzle_mix(**args, num_classes=NUM_CLASSES, generator=g)

    with pytest.raises(ValueError, match="class indices must lie in"):
        mix(y=torch.tensor([0, 1, 2, NUM_CLASSES]))
    with pytest.raises(ValueError, match="batch sizes disagree"):
        mix(y=y[:3])
    with pytest.raises(ValueError, match="batch sizes disagree"):
        mix(saliency=saliency[:3])
    nan_saliency = saliency.clone()
    nan_saliency[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        mix(saliency=nan_saliency)
    with pytest.raises(ValueError, match="16x16 block grid needs at least 16 pixels per side"):
        mix(x=x[..., :8], saliency=saliency[..., :8])
    with pytest.raises(ValueError, match="saliency maps are"):
        mix(saliency=saliency[..., :8, :8])
    with pytest.raises(ValueError, match="floating-point"):
        mix(x=(x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="class indices"):
        PuzzleMixMethod(NUM_CLASSES).loss(tiny_model(), x, torch.tensor([0, 1, 2, 99]))


def test_bad_config_raises():
    with pytest.raises(ValueError, match="adv_p is a probability"):
        PuzzleMixConfig(adv_p=1.5)
    with pytest.raises(ValueError, match="adv_eps is a radius"):
        PuzzleMixConfig(adv_eps=-1.0)
    with pytest.raises(ValueError, match="n_labels must be at least 2"):
        PuzzleMixConfig(n_labels=1)
    with pytest.raises(ValueError, match="block_nums"):
        PuzzleMixConfig(block_nums=())
    with pytest.raises(ValueError, match="data_mean and data_std together"):
        PuzzleMixConfig(data_mean=(0.5, 0.5, 0.5))


# --- inputs that are not square, grids that do not divide them ------------------------------


def test_blocks_that_do_not_divide_differ_by_at_most_one_and_refine():
    for length, blocks in ((100, 8), (100, 16), (160, 16), (17, 5), (32, 4)):
        sizes = torch.bincount(block_index(length, blocks), minlength=blocks)
        assert sizes.sum() == length and sizes.max() - sizes.min() <= (length % blocks > 0)
        # A grid of 3 * blocks cells refines the grid of ``blocks``.
        fine, coarse = block_index(length * 3, blocks * 3), block_index(length * 3, blocks)
        assert torch.equal(fine // 3, coarse)


@pytest.mark.parametrize(("size", "block_num"), [(16, 2), (16, 4), (32, 8), (32, 16)])
def test_data_smoothness_is_the_official_pooled_step_on_equal_blocks(size, block_num):
    g = torch.Generator().manual_seed(size + block_num)
    first, second = torch.rand(2, 3, 3, size, size, generator=g)
    geo = geometry(size, size, block_num, CONFIG)
    k = geo.neigh_rows
    a = torch.nn.functional.avg_pool2d(first, k)
    b = torch.nn.functional.avg_pool2d(second, k)
    per = size // block_num // k  # official neigh_penalty on the pooled images
    vertical = (a[:, :, per - 1 : -1 : per, :] - b[:, :, per::per, :]).abs().mean(1)
    horizontal = (a[:, :, :, per - 1 : -1 : per] - b[:, :, :, per::per]).abs().mean(1)
    expected = (
        vertical.unflatten(-1, (-1, per)).mean(-1),
        horizontal.unflatten(-2, (-1, per)).mean(-2),
    )
    for got, want in zip(boundary_steps(first, second, geo), expected, strict=True):
        torch.testing.assert_close(got, want)


def test_spectrogram_geometry_uses_unequal_blocks_instead_of_failing():
    assert geometry(160, 100, 8, CONFIG) == Geometry(160, 100, 8, 4, 4, 24)
    assert geometry(160, 100, 16, CONFIG) == Geometry(160, 100, 16, 4, 4, 16)
    assert geometry(12, 12, 2, CONFIG).neigh_rows == 4  # 6-pixel blocks: chunks of 4 and 2


@pytest.mark.parametrize(("height", "width", "block_num"), [(30, 17, 4), (20, 13, 5), (24, 16, 8)])
def test_non_square_inputs_mix_each_pixel_from_the_pair_with_pixel_share_labels(
    height, width, block_num
):
    g = torch.Generator().manual_seed(height * width)
    x = torch.rand(5, 2, height, width, generator=g)
    saliency = torch.rand(5, height, width, generator=g)
    y_onehot = nn.functional.one_hot(torch.arange(5), NUM_CLASSES).float()
    config = dataclasses.replace(CONFIG, transport=False)
    result = mix_with_params(x, y_onehot, saliency, params(block_num, [1, 2, 3, 4, 0], 0.5), config)
    weight = upsample_blocks(result.mask, height, width)
    expected = weight.unsqueeze(1) * x + (1 - weight.unsqueeze(1)) * x[[1, 2, 3, 4, 0]]
    torch.testing.assert_close(result.x_mixed, expected)
    torch.testing.assert_close(result.lam, weight.flatten(1).mean(1))
    torch.testing.assert_close(result.y_soft.gather(1, torch.arange(5)[:, None])[:, 0], result.lam)
    torch.testing.assert_close(result.y_soft.sum(1), torch.ones(5))


def test_transport_on_unequal_blocks_moves_the_images_own_cells():
    g = torch.Generator().manual_seed(11)
    image = torch.rand(2, 3, 30, 17, generator=g)
    identity = torch.arange(49).expand(2, 49)
    assert torch.equal(move_blocks(image, identity, 7), image)
    # Rows split 5,4,4,5,4,4,4 and columns 3,2,3,2,3,2,2: swapping cells (0, 0) and (0, 2),
    # both 5x3, moves their pixels exactly and leaves the others in place.
    swap = identity.clone()
    swap[:, [0, 2]] = swap[:, [2, 0]]
    moved = move_blocks(image, swap, 7)
    assert torch.equal(moved[:, :, :5, :3], image[:, :, :5, 5:8])
    assert torch.equal(moved[:, :, :5, 5:8], image[:, :, :5, :3])
    assert torch.equal(moved[:, :, :5, 3:5], image[:, :, :5, 3:5])
    assert torch.equal(moved[:, :, 5:], image[:, :, 5:])
    # A full transport on a spectrogram-shaped batch keeps labels valid.
    x, y = torch.rand(4, 1, 40, 25, generator=g), torch.tensor([0, 1, 2, 3])
    saliency = torch.rand(4, 40, 25, generator=g)
    x_mixed, y_soft = puzzle_mix(x, y, saliency, CONFIG, num_classes=NUM_CLASSES, generator=g)
    assert x_mixed.shape == x.shape
    torch.testing.assert_close(y_soft.sum(1), torch.ones(4))


# --- fidelity to the official commands and scales -----------------------------------------------

OFFICIAL_COMMANDS = {
    # snu-mllab/PuzzleMix README, "Puzzle Mix with PreActResNet18" (not the adversarial ones)
    "cifar100": "--mixup_alpha 1.0 --graph True --n_labels 3 --eta 0.2 --beta 1.2 --gamma 0.5 "
    "--neigh_size 4 --transport True --t_size 4 --t_eps 0.8",
    "tiny-imagenet": "--mixup_alpha 1.0 --graph True --n_labels 3 --eta 0.2 --beta 1.2 "
    "--gamma 0.5 --neigh_size 4 --transport True --t_eps 0.8 --clean_lam 1",
}
OFFICIAL_DEFAULTS = {"t_size": -1.0, "clean_lam": 0.0, "adv_p": 0.0, "adv_eps": 10.0}
"""snu-mllab/PuzzleMix main.py argument defaults for what the commands leave out."""


@pytest.mark.parametrize("dataset", sorted(OFFICIAL_COMMANDS))
def test_per_dataset_settings_are_the_official_commands(dataset):
    words = OFFICIAL_COMMANDS[dataset].split()
    official = dict(OFFICIAL_DEFAULTS)
    official.update({key[2:]: value for key, value in zip(words[::2], words[1::2], strict=True)})
    config = get_method("puzzle_mix", num_classes=NUM_CLASSES, dataset=dataset).config
    assert config.alpha == float(official["mixup_alpha"])
    for name in ("eta", "beta", "gamma", "t_eps", "clean_lam", "adv_p", "adv_eps"):
        assert getattr(config, name) == float(official[name]), name
    assert config.n_labels == int(official["n_labels"])
    assert config.neigh_size == int(official["neigh_size"])
    assert config.transport == (official["transport"] == "True")
    t_size = int(float(official["t_size"]))
    assert config.t_size == (None if t_size == -1 else t_size)


def test_the_runner_gives_puzzle_mix_pixel_values_for_its_data_smoothness():
    """Through the runner's path (get_method with the dataset), the smoothness term equals the
    official formula on ``x * std + mean`` for a normalised CIFAR batch (official mixup.py:
    ``F.avg_pool2d(input1 * std + mean, neigh_size)`` then ``neigh_penalty``)."""
    spec = dataset_spec("cifar100")
    config = get_method("puzzle_mix", num_classes=100, dataset="cifar100").config
    assert (config.data_mean, config.data_std) == (spec.mean, spec.std)
    pixels = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    normalised = (pixels - mean) / std  # what the CIFAR loader feeds the model
    geo = geometry(32, 32, 4, config)
    k, per = geo.neigh_rows, 32 // 4 // geo.neigh_rows
    pooled = torch.nn.functional.avg_pool2d(normalised * std + mean, k)
    vertical = (pooled[:, :, per - 1 : -1 : per, :] - pooled[:, :, per::per, :]).abs().mean(1)
    official = vertical.unflatten(-1, (-1, per)).mean(-1)
    ours = boundary_steps(pixel_scale(normalised, config), pixel_scale(normalised, config), geo)
    torch.testing.assert_close(ours[0], official)
    # Feeding the standardised values as pixels would weigh the term about 1 / std = 3.7x.
    raw = boundary_steps(normalised, normalised, geo)[0]
    assert raw.mean() / official.mean() > 3


def test_adversarial_noise_follows_the_official_step():
    """main.py: start U(-eps, eps) clipped to the pixel range, one step of (adv_eps + 2) / 255
    along sign(grad), clipped to [-eps, eps], scaled by one U(0, 1); added after the graph cut
    as clip(pixels + noise, 0, 1), a partner with its own noise."""
    config = dataclasses.replace(CONFIG, adv_p=1.0, data_mean=(0.5,) * 3, data_std=(0.25,) * 3)
    x = (torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) - 0.5) / 0.25
    generator = torch.Generator().manual_seed(2)
    start, x_noisy = random_start(x, config, generator)
    pixels = x * 0.25 + 0.5
    eps = 10 / 255
    assert start.abs().max() <= eps + 1e-6
    assert ((pixels + start) >= -1e-6).all() and ((pixels + start) <= 1 + 1e-6).all()
    torch.testing.assert_close(x_noisy * 0.25 + 0.5, (pixels + start).clamp(0, 1))
    grad = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    replay = torch.Generator().manual_seed(4)
    noise = attack(start, grad, config, torch.Generator().manual_seed(4))
    coefficient = float(torch.rand((), generator=replay))
    expected = (start + 12 / 255 * grad.sign()).clamp(-eps, eps) * coefficient
    torch.testing.assert_close(noise, expected)

    plain = dataclasses.replace(config, transport=False, n_labels=2)
    drawn = params(2, [1, 2, 3, 0], 0.5)
    saliency = torch.rand(4, SIZE, SIZE, generator=torch.Generator().manual_seed(5))
    y = torch.eye(NUM_CLASSES)[:4]
    for inputs, partners in [(True, False), (False, True), (True, True)]:
        mixed = mix_with_params(
            x, y, saliency, drawn, plain, AdversarialNoise(noise, inputs, partners)
        )
        clean = mix_with_params(x, y, saliency, drawn, plain)
        torch.testing.assert_close(mixed.mask, clean.mask)  # the graph cut sees clean inputs
        weight = upsample_blocks(mixed.mask, SIZE, SIZE).unsqueeze(1)
        noisy = (pixels + noise).clamp(0, 1)
        own = noisy if inputs else pixels
        partner = noisy[[1, 2, 3, 0]] if partners else pixels[[1, 2, 3, 0]]
        torch.testing.assert_close(
            mixed.x_mixed * 0.25 + 0.5, weight * own + (1 - weight) * partner
        )


def test_adversarial_puzzle_mix_trains_and_is_reproducible():
    x, y, _ = batch(6)
    config = dataclasses.replace(CONFIG, adv_p=1.0, clean_lam=1.0)
    method = PuzzleMixMethod(NUM_CLASSES, config)
    first, _ = method.loss(tiny_model(), x, y, generator=torch.Generator().manual_seed(0))
    again, _ = method.loss(tiny_model(), x, y, generator=torch.Generator().manual_seed(0))
    plain, _ = PuzzleMixMethod(NUM_CLASSES, dataclasses.replace(config, adv_p=0.0)).loss(
        tiny_model(), x, y, generator=torch.Generator().manual_seed(0)
    )
    first.backward()
    assert torch.isfinite(first) and first.item() == again.item() != plain.item()
