"""VAT (baselines/vat.py): the loss, the virtual adversarial perturbation, frozen batch norm."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from baselines.vat import (
    PERTURBATION_NORM,
    VAT_LOSS,
    VATConfig,
    VATMethod,
    frozen_batchnorm_stats,
    per_sample_norm,
    virtual_adversarial_perturbation,
)
from comixup.method import CLEAN_ACCURACY, Method

NUM_CLASSES = 5
NORM_CASES = [("l2", 1.5), ("linf", 2.0)]  # radii in 8-bit pixel steps


def tiny_cnn(seed: int = 0) -> nn.Module:
    """conv-bn-relu-pool-linear; the conv has no bias (BN removes it, its gradient is 0)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, NUM_CLASSES),
    )


def batch(size: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 3, 8, 8, generator=g)
    y = torch.randint(0, NUM_CLASSES, (size,), generator=g)
    return x, y


def bn_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: buffer.clone()
        for name, buffer in model.named_buffers()
        if name.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")
    }


def g(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_vat_is_a_method():
    assert isinstance(VATMethod(num_classes=NUM_CLASSES, config=VATConfig()), Method)


@pytest.mark.parametrize("soft", [False, True])
def test_loss_is_finite_and_reaches_every_parameter(soft):
    model = tiny_cnn()
    x, y = batch()
    if soft:
        y = torch.softmax(torch.randn(x.shape[0], NUM_CLASSES, generator=g(3)), dim=1)
    x_before = x.clone()

    loss, stats = VATMethod(NUM_CLASSES, VATConfig()).loss(model, x, y, generator=g())
    loss.backward()

    assert loss.ndim == 0 and torch.isfinite(loss)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.equal(x, x_before)
    assert set(stats) == {CLEAN_ACCURACY, VAT_LOSS, PERTURBATION_NORM}
    assert 0 <= stats[CLEAN_ACCURACY] <= 1
    assert stats[VAT_LOSS] > 0
    assert stats[PERTURBATION_NORM] == pytest.approx(1.0)  # Table 8's radius, in pixel steps


def test_loss_adds_alpha_times_the_vat_term():
    x, y = batch()
    base, _ = VATMethod(NUM_CLASSES, VATConfig(alpha=0.0)).loss(tiny_cnn(), x, y, generator=g())
    weighted, stats = VATMethod(NUM_CLASSES, VATConfig(alpha=3.0)).loss(
        tiny_cnn(), x, y, generator=g()
    )
    assert weighted.item() == pytest.approx(base.item() + 3.0 * stats[VAT_LOSS], rel=1e-5)


def test_seeded_calls_are_deterministic():
    x, y = batch()
    method = VATMethod(NUM_CLASSES, VATConfig())
    model = tiny_cnn()
    loss_a, stats_a = method.loss(model, x, y, generator=g(11))
    loss_b, stats_b = method.loss(model, x, y, generator=g(11))
    loss_c, _ = method.loss(model, x, y, generator=g(12))
    assert loss_a.item() == loss_b.item()
    assert stats_a == stats_b
    assert loss_a.item() != loss_c.item()


def test_batch_of_one():
    x, y = batch(size=1)
    loss, stats = VATMethod(NUM_CLASSES, VATConfig()).loss(tiny_cnn(), x, y, generator=g())
    loss.backward()
    assert torch.isfinite(loss)
    assert stats[PERTURBATION_NORM] == pytest.approx(1.0)  # Table 8's radius, in pixel steps


@pytest.mark.parametrize("n_power", [0, 1])
@pytest.mark.parametrize(("norm", "epsilon"), NORM_CASES)
def test_perturbation_has_radius_epsilon_per_sample(norm, epsilon, n_power):
    model = tiny_cnn()
    x, _ = batch()
    config = VATConfig(epsilon=epsilon, norm=norm, n_power=n_power)

    r_adv = virtual_adversarial_perturbation(model, x, model(x), config, generator=g())

    assert r_adv.shape == x.shape and not r_adv.requires_grad
    # No normalisation given: the inputs are pixels, the radius epsilon / 255.
    torch.testing.assert_close(per_sample_norm(r_adv, norm), torch.full((8,), epsilon / 255))
    if norm == "linf":  # the steepest l-inf step: every entry at the ball's boundary
        torch.testing.assert_close(r_adv.abs(), torch.full_like(r_adv, epsilon / 255))


@pytest.mark.parametrize(("norm", "epsilon"), NORM_CASES)
def test_no_power_iteration_is_the_random_direction(norm, epsilon):
    model = tiny_cnn()
    x, _ = batch()
    config = VATConfig(epsilon=epsilon, norm=norm, n_power=0)
    r_adv = virtual_adversarial_perturbation(model, x, model(x), config, generator=g())
    d = torch.randn(x.shape, generator=g())
    if norm == "l2":
        expected = epsilon / 255 * d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    else:
        expected = epsilon / 255 * d.sign()
    torch.testing.assert_close(r_adv, expected)


def linear_problem(batch_size: int = 64, dim: int = 20):
    """Logits W x (float64): KL(p || p(x + r)) = r^T H r / 2 + O(|r|^3), H = W^T F W with
    F = diag(p) - p p^T, so one power step from d gives exactly the direction of H d."""
    gen = torch.Generator().manual_seed(5)
    model = nn.Linear(dim, NUM_CLASSES, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(NUM_CLASSES, dim, generator=gen, dtype=torch.float64))
    x = torch.randn(batch_size, dim, generator=gen, dtype=torch.float64)
    W = model.weight.detach()
    p = torch.softmax(x @ W.T, dim=1)
    F_ = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    H = W.T @ F_ @ W  # (B, dim, dim)
    return model, x, H


@pytest.mark.parametrize(("norm", "epsilon"), NORM_CASES)
def test_one_power_iteration_matches_the_hessian_step(norm, epsilon):
    model, x, H = linear_problem()
    # float64 model: the official tiny step keeps the second-order expansion exact.
    config = VATConfig(epsilon=epsilon, norm=norm, n_power=1, xi=1e-6)

    r_adv = virtual_adversarial_perturbation(model, x, model(x), config, generator=g())

    d = torch.randn(x.shape, generator=g(), dtype=torch.float64)
    Hd = (H @ d.unsqueeze(2)).squeeze(2)
    if norm == "l2":
        expected = epsilon / 255 * Hd / Hd.norm(dim=1, keepdim=True)
        torch.testing.assert_close(r_adv, expected, rtol=1e-4, atol=1e-6)
    else:
        torch.testing.assert_close(r_adv, epsilon / 255 * Hd.sign())


def test_power_iteration_aligns_with_the_most_sensitive_direction():
    model, x, H = linear_problem()
    top = torch.linalg.eigh(H).eigenvectors[..., -1]  # (B, dim), largest eigenvalue

    def alignment(n_power: int) -> float:
        config = VATConfig(epsilon=1.0, norm="l2", n_power=n_power)
        r = virtual_adversarial_perturbation(model, x, model(x), config, generator=g())
        return torch.nn.functional.cosine_similarity(r, top, dim=1).abs().mean().item()

    random_alignment, power_alignment = alignment(0), alignment(1)
    assert random_alignment < 0.35  # about sqrt(2 / (pi * 20)) for a random direction
    assert power_alignment > random_alignment + 0.3


def test_zero_gradient_keeps_the_random_direction():
    model = nn.Linear(12, NUM_CLASSES)
    with torch.no_grad():
        model.weight.zero_()  # the output ignores x: the probe's gradient is exactly 0
    x = torch.randn(4, 12, generator=g(1))
    random = virtual_adversarial_perturbation(
        model, x, model(x), VATConfig(norm="l2", epsilon=2.0, n_power=0), generator=g()
    )
    powered = virtual_adversarial_perturbation(
        model, x, model(x), VATConfig(norm="l2", epsilon=2.0, n_power=1), generator=g()
    )
    torch.testing.assert_close(powered, random)
    torch.testing.assert_close(per_sample_norm(powered, "l2"), torch.full((4,), 2.0 / 255))


def test_perturbed_passes_leave_batchnorm_statistics_alone():
    model = tiny_cnn()
    x, _ = batch()
    before = bn_state(model)

    virtual_adversarial_perturbation(model, x, model(x).detach(), VATConfig(), generator=g())
    after_clean_and_probe = bn_state(model)
    bn = model[1]
    assert bn.track_running_stats  # restored

    # Only the explicit clean forward above moved them: compare with a plain forward.
    reference = tiny_cnn()
    reference(x)
    for name, value in bn_state(reference).items():
        torch.testing.assert_close(after_clean_and_probe[name], value, rtol=0, atol=0)
    assert not torch.equal(before["1.running_mean"], after_clean_and_probe["1.running_mean"])


def test_vat_loss_updates_batchnorm_like_one_training_forward():
    model, reference = tiny_cnn(), tiny_cnn()
    x, y = batch()

    VATMethod(NUM_CLASSES, VATConfig(n_power=1)).loss(model, x, y, generator=g())
    reference(x)  # the clean pass as plain training does it

    state, expected = bn_state(model), bn_state(reference)
    assert int(state["1.num_batches_tracked"]) == 1
    for name, value in expected.items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=0)


def test_eval_mode_uses_and_keeps_running_statistics():
    model = tiny_cnn().eval()
    x, y = batch()
    before = bn_state(model)
    VATMethod(NUM_CLASSES, VATConfig()).loss(model, x, y, generator=g())
    for name, value in bn_state(model).items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)
    assert not model.training


def test_frozen_batchnorm_restores_tracking_on_error():
    model = tiny_cnn()
    with pytest.raises(RuntimeError, match="boom"), frozen_batchnorm_stats(model):
        assert not model[1].track_running_stats
        raise RuntimeError("boom")
    assert model[1].track_running_stats


@pytest.mark.parametrize("n_power", [2, -1, 5])
def test_invalid_n_power(n_power):
    with pytest.raises(ValueError, match="n_power must be 0 or 1"):
        VATConfig(n_power=n_power)


@pytest.mark.parametrize("norm", ["l1", "Linf", "inf"])
def test_invalid_norm(norm):
    with pytest.raises(ValueError, match="norm must be one of"):
        VATConfig(norm=norm)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epsilon", 0.0, "epsilon must be a positive"),
        ("epsilon", math.nan, "epsilon must be a positive"),
        ("xi", -1e-6, "xi must be positive"),
        ("alpha", -1.0, "alpha must be non-negative"),
    ],
)
def test_invalid_scalars(field, value, message):
    with pytest.raises(ValueError, match=message):
        VATConfig(**{field: value})


def test_labels_out_of_range():
    x, y = batch()
    y[0] = NUM_CLASSES
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 5\)"):
        VATMethod(NUM_CLASSES, VATConfig()).loss(tiny_cnn(), x, y, generator=g())


def test_mismatched_batch_sizes():
    x, y = batch()
    with pytest.raises(ValueError, match="batch sizes disagree"):
        VATMethod(NUM_CLASSES, VATConfig()).loss(tiny_cnn(), x, y[:-1], generator=g())


def test_wrong_num_classes():
    x, y = batch()
    with pytest.raises(ValueError, match="set num_classes to the model's output size"):
        VATMethod(NUM_CLASSES + 1, VATConfig()).loss(tiny_cnn(), x, y, generator=g())


def test_clean_logits_must_match_the_batch():
    model = tiny_cnn()
    x, _ = batch()
    with pytest.raises(ValueError, match="clean_logits must be"):
        virtual_adversarial_perturbation(model, x, model(x)[:-1], VATConfig(), generator=g())


def test_does_not_touch_parameter_gradients():
    model = tiny_cnn()
    x, _ = batch()
    virtual_adversarial_perturbation(model, x, model(x), VATConfig(), generator=g())
    assert all(parameter.grad is None for parameter in model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_with_a_cpu_generator_matches_cpu():
    x, y = batch()
    cpu_model = tiny_cnn()
    cuda_model = copy.deepcopy(cpu_model).cuda()
    method = VATMethod(NUM_CLASSES, VATConfig(norm="l2", epsilon=1.0))
    cpu_loss, _ = method.loss(cpu_model, x, y, generator=g())
    cuda_loss, stats = method.loss(cuda_model, x.cuda(), y.cuda(), generator=g())
    cuda_loss.backward()
    assert cuda_loss.device.type == "cuda"
    assert cuda_loss.item() == pytest.approx(cpu_loss.item(), rel=1e-3)
    assert stats[PERTURBATION_NORM] == pytest.approx(1.0)


def test_the_runner_applies_the_radius_in_pixel_steps():
    """Through get_method with the dataset (the runner's path) the l-inf radius epsilon means
    epsilon / 255 on pixel values: r_adv * std is +-epsilon / 255 in every entry."""
    from benchmarks.data import dataset_spec
    from benchmarks.methods import get_method

    spec = dataset_spec("cifar100")
    config = get_method("vat", num_classes=NUM_CLASSES, dataset="cifar100", epsilon=2.0).config
    assert (config.data_mean, config.data_std) == (spec.mean, spec.std)
    model = tiny_cnn()
    x, _ = batch()
    r_adv = virtual_adversarial_perturbation(model, x, model(x), config, generator=g())
    in_pixels = r_adv * torch.tensor(spec.std).view(1, 3, 1, 1)
    torch.testing.assert_close(in_pixels.abs(), torch.full_like(r_adv, 2.0 / 255))
