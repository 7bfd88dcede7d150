"""Every method behind the Method interface, and the pairwise mixers' own invariants."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from baselines.cutmix import cutmix
from baselines.input_mixup import input_mixup
from baselines.manifold_mixup import MIXING_LAYER
from benchmarks.methods import DATASET_DEFAULTS, METHOD_NAMES, get_method
from comixup import CoMixupConfig
from comixup.method import (
    CLEAN_ACCURACY,
    LAMBDA,
    CoMixupMethod,
    Method,
    SaliencyPass,
    clean_pass_with_saliency,
    soft_target_bce,
)
from comixup.mixing import co_mixup_labeling, mix_inputs, mix_labels
from comixup.saliency import saliency_from_gradient

NUM_CLASSES = 10


def batch(size: int = 13, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(size, 3, 32, 32, generator=g), torch.randint(
        0, NUM_CLASSES, (size,), generator=g
    )


def run(name: str, model, x, y, seed: int = 0, **overrides):
    method = get_method(name, num_classes=NUM_CLASSES, **overrides)
    return method.loss(model, x, y, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_loss_is_finite_and_reaches_every_parameter(name, tiny_net):
    x, y = batch()
    loss, stats = run(name, tiny_net, x, y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    for parameter_name, parameter in tiny_net.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name
        assert parameter.grad.abs().sum() > 0, parameter_name
    assert all(isinstance(value, float) for value in stats.values())


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_seeded_call_is_deterministic_and_pure(name, tiny_net):
    x, y = batch()
    x_before = x.clone()
    first, stats_first = run(name, copy.deepcopy(tiny_net), x, y, seed=3)
    second, stats_second = run(name, copy.deepcopy(tiny_net), x, y, seed=3)
    assert torch.equal(x, x_before)
    assert first.item() == second.item()
    timing = {key for key in stats_first if key.endswith("_seconds")}
    assert {k: v for k, v in stats_first.items() if k not in timing} == {
        k: v for k, v in stats_second.items() if k not in timing
    }


@pytest.mark.parametrize("name", METHOD_NAMES)
@pytest.mark.parametrize("size", [1, 7])
def test_odd_batches_and_a_batch_of_one(name, size, tiny_net):
    x, y = batch(size)
    loss, _ = run(name, tiny_net, x, y)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_soft_labels_are_accepted(name, tiny_net):
    x, y = batch()
    soft = F.one_hot(y, NUM_CLASSES).float() * 0.9 + 0.01
    loss, _ = run(name, tiny_net, x, soft)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_bad_labels_get_clear_errors(name, tiny_net):
    x, y = batch()
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 10\)"):
        run(name, tiny_net, x, torch.full_like(y, NUM_CLASSES))
    with pytest.raises(ValueError, match="batch sizes disagree"):
        run(name, tiny_net, x, y[:-1])


def test_registry_names_and_errors():
    assert METHOD_NAMES == (
        "vanilla",
        "input_mixup",
        "manifold_mixup",
        "cutmix",
        "puzzle_mix",
        "comixup",
        "vat",
    )
    for name in METHOD_NAMES:
        method = get_method(name, num_classes=NUM_CLASSES)
        assert isinstance(method, Method)
        # Training steps are *Method objects; the bare names are the mixers.
        assert type(method).__name__.endswith("Method"), type(method).__name__
    with pytest.raises(ValueError, match="unknown method 'mixupp'; known methods: vanilla, "):
        get_method("mixupp", num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['alpah'\] for method 'cutmix'"):
        get_method("cutmix", num_classes=NUM_CLASSES, alpah=1.0)


def test_dataset_defaults_follow_the_official_commands():
    for dataset, per_method in DATASET_DEFAULTS.items():
        for name, settings in per_method.items():
            method = get_method(name, num_classes=NUM_CLASSES, dataset=dataset)
            for key, value in settings.items():
                assert getattr(method.config, key) == value, (dataset, name, key)
    assert get_method("input_mixup", num_classes=10, dataset="tiny-imagenet").config.alpha == 0.2
    assert get_method("manifold_mixup", num_classes=10).config.alpha == 2.0
    assert get_method("cutmix", num_classes=10, alpha=0.5).config.alpha == 0.5


def distinct_batch(size: int = 8):
    """Images that are constant per input (value = index), labels = index: every pixel and every
    label entry tells which input it came from."""
    x = torch.arange(size, dtype=torch.float32).view(size, 1, 1, 1).expand(size, 3, 16, 16)
    return x.clone(), torch.arange(size)


@pytest.mark.parametrize("per_sample", [False, True])
def test_input_mixup_labels_match_the_blend(per_sample):
    x, y = distinct_batch()
    x_mixed, y_soft = input_mixup(
        x, y, alpha=1.0, num_classes=8, per_sample=per_sample, generator=torch.Generator()
    )
    torch.testing.assert_close(y_soft.sum(1), torch.ones(8))
    assert ((y_soft > 0).sum(1) <= 2).all()
    # A constant image blended from inputs a and b has value sum_c y_soft[c] * c.
    expected = y_soft @ torch.arange(8, dtype=torch.float32)
    torch.testing.assert_close(x_mixed[:, 0, 0, 0], expected)
    largest = y_soft.max(1).values
    paired = largest < 1  # a fixed point of the permutation is mixed with itself
    if not per_sample and paired.sum() > 1:
        # One lambda per batch: every paired output's weights are {lam, 1 - lam}.
        smaller = torch.minimum(largest, 1 - largest)[paired]
        torch.testing.assert_close(smaller, smaller[:1].expand_as(smaller))


@pytest.mark.parametrize("per_sample", [False, True])
def test_cutmix_lambda_equals_the_kept_area(per_sample):
    x, y = distinct_batch()
    for seed in range(5):
        x_mixed, y_soft = cutmix(
            x,
            y,
            alpha=1.0,
            num_classes=8,
            per_sample=per_sample,
            generator=torch.Generator().manual_seed(seed),
        )
        torch.testing.assert_close(y_soft.sum(1), torch.ones(8))
        for i in range(8):
            own_pixels = (x_mixed[i, 0] == i).float().mean()
            assert ((y_soft[i] > 0).sum()) <= 2
            if y_soft[i, i] < 1:  # paired with another input
                torch.testing.assert_close(y_soft[i, i], own_pixels)
            # The pasted region is one axis-aligned box.
            pasted = (x_mixed[i, 0] != i).nonzero()
            if pasted.numel():
                rows, cols = pasted[:, 0], pasted[:, 1]
                box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
                assert box == pasted.shape[0]


def test_cutmix_one_box_per_batch_by_default():
    x, y = distinct_batch()
    x_mixed, _ = cutmix(x, y, num_classes=8, generator=torch.Generator().manual_seed(1))
    moved = x_mixed[:, 0] != x[:, 0]
    paired = moved.flatten(1).any(1)
    masks = moved[paired]
    assert all(torch.equal(mask, masks[0]) for mask in masks)


def test_manifold_mixup_mixes_at_the_drawn_layer(tiny_net):
    x, y = batch(8)
    seen: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    hooks = [
        stage.register_forward_pre_hook(lambda _m, args, i=i: seen[i].append(args[0].detach()))
        for i, stage in enumerate(tiny_net.mixing_stages())
    ]
    for layer in (0, 1, 2):
        for values in seen.values():
            values.clear()
        _, stats = run("manifold_mixup", tiny_net, x, y, layers=(layer,))
        assert stats[MIXING_LAYER] == layer
        with torch.no_grad():
            clean = [x, tiny_net.block1(x), tiny_net.block2(tiny_net.block1(x))]
        for stage in range(layer):  # before the mixing point: the clean states
            torch.testing.assert_close(seen[stage][0], clean[stage])
        assert not torch.allclose(seen[layer][0], clean[layer])  # mixed here
    for hook in hooks:
        hook.remove()


def test_manifold_mixup_needs_mixing_points():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, NUM_CLASSES))
    x, y = batch()
    with pytest.raises(ValueError, match="Sequential declares no mixing points"):
        run("manifold_mixup", model, x, y)


def test_manifold_mixup_layers_must_fit_the_model(tiny_net):
    x, y = batch()
    with pytest.raises(ValueError, match=r"mixing layers \(3,\) do not fit a model with 3"):
        run("manifold_mixup", tiny_net, x, y, layers=(3,))


def test_comixup_saliency_has_the_input_shape_and_keeps_clean_weight_gradients(tiny_net):
    x, y = batch(6)
    y_soft = F.one_hot(y, NUM_CLASSES).float()
    saliency, logits, clean_loss = clean_pass_with_saliency(tiny_net, x, y_soft, 0.2)
    assert saliency.shape == (6, 32, 32)
    assert logits.shape == (6, NUM_CLASSES)
    torch.testing.assert_close(clean_loss, 0.2 * F.cross_entropy(logits, y))
    # Back-propagated once, in the pass: the weight gradients are already there.
    assert not clean_loss.requires_grad
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tiny_net.parameters())
    _, _, none = clean_pass_with_saliency(tiny_net, x, y_soft, 0.0)
    assert none is None


def test_comixup_loss_is_the_mixed_bce_plus_the_scaled_clean_loss(tiny_net):
    x, y = batch(9)
    config = CoMixupConfig(partition_size=5)
    method = CoMixupMethod(num_classes=NUM_CLASSES, config=config)
    loss, stats = method.loss(tiny_net, x, y, generator=torch.Generator().manual_seed(7))

    y_soft = F.one_hot(y, NUM_CLASSES).float()
    weight = 2 * config.clean_lam / NUM_CLASSES
    saliency, _, clean = clean_pass_with_saliency(tiny_net, x, y_soft, weight)
    labelings = co_mixup_labeling(saliency, config, generator=torch.Generator().manual_seed(7))
    parts = [slice(0, 5), slice(5, 9)]
    x_mixed = torch.cat([mix_inputs(z, x[p]) for p, z in zip(parts, labelings, strict=True)])
    target = torch.cat([mix_labels(z, y_soft[p]) for p, z in zip(parts, labelings, strict=True)])
    expected = soft_target_bce(tiny_net(x_mixed), target) + clean
    torch.testing.assert_close(loss, expected)
    assert 0 < stats[LAMBDA] <= 1
    assert 0 <= stats[CLEAN_ACCURACY] <= 1


def test_vanilla_trains_with_the_official_bce_on_softmax():
    """Both official main.py files train vanilla with BCELoss(softmax(output), one_hot): the
    mean over every (sample, class) entry of -(t log p + (1 - t) log(1 - p))."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, NUM_CLASSES))
    x, y = batch()
    loss, _ = run("vanilla", model, x, y)
    p = model(x).softmax(dim=1).double()
    t = torch.zeros_like(p)
    t[torch.arange(len(y)), y] = 1.0
    official = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
    torch.testing.assert_close(loss.double(), official)
    assert not torch.allclose(loss, F.cross_entropy(model(x), y))


def _two_backward_saliency_pass(model, x, y_soft, clean_weight, grad_scale=None):
    """The step before it had one backward per forward: the input gradient by
    ``autograd.grad(retain_graph=True)``, the clean loss returned with its graph and
    back-propagated again with the mixed loss."""
    inputs = x.detach().requires_grad_(True)
    logits = model(inputs)
    clean_loss = (F.cross_entropy(logits, y_soft, reduction="none") * clean_weight).mean()
    (grad,) = torch.autograd.grad(clean_loss, inputs, retain_graph=True)
    return SaliencyPass(saliency_from_gradient(grad), logits.detach(), clean_loss, grad)


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16-autocast-scaled"])
@pytest.mark.parametrize("name", ["comixup", "puzzle_mix"])
def test_one_backward_per_forward_gives_the_two_backward_gradients(name, amp, monkeypatch):
    """The clean pass is back-propagated once (input and weight gradients together, as the
    official main.py); the weight gradients equal those of the earlier two-backward step, with
    a loss scaler (init scale 1024) and bf16 autocast too."""
    import comixup.method as method_module

    x, y = batch(8)
    overrides = {"clean_lam": 1.0}
    if name == "comixup":
        overrides["partition_size"] = 4

    def gradients(one_backward: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(16, NUM_CLASSES),
        )
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, enabled=amp)
        with monkeypatch.context() as patch:
            if not one_backward:
                patch.setattr(method_module, "saliency_pass", _two_backward_saliency_pass)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                loss, _ = get_method(name, num_classes=NUM_CLASSES, **overrides).loss(
                    model, x, y, generator=torch.Generator().manual_seed(3),
                    grad_scale=scaler.scale,
                )  # fmt: skip
            scaler.scale(loss).backward()
        scale = scaler.get_scale() if amp else 1.0
        return [p.grad / scale for p in model.parameters()]

    # bf16 keeps 8 bits of mantissa: the two orders of accumulation agree to its rounding.
    tolerance = {"rtol": 1e-2, "atol": 1e-4} if amp else {"rtol": 1e-4, "atol": 1e-6}
    for ours, reference in zip(gradients(True), gradients(False), strict=True):
        torch.testing.assert_close(ours, reference, **tolerance)
