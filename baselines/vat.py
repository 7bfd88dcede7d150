"""Virtual Adversarial Training (VAT) as a supervised baseline.

Miyato, Maeda, Koyama, Ishii, "Virtual Adversarial Training: A Regularization Method for
Supervised and Semi-Supervised Learning", IEEE TPAMI 41(8), 2018 (arXiv:1704.03976). Defaults
follow the official code, github.com/takerum/vat_tf (``vat.py``), except the norm (see
``VATConfig``), which follows the Co-Mixup supplement's comparison (Table 8: VAT with 0 or 1
power iterations and an l-inf radius).

The training loss on a labelled batch is

    cross_entropy(f(x), y) + alpha * KL(p(x) || p(x + r_adv)),

where ``p(x)`` is the model's softmax on the clean batch, held constant (detached), and
``r_adv`` is the virtual adversarial perturbation of radius ``epsilon``: the direction in which
the model's output distribution changes fastest, found from a random direction ``d`` by
``n_power`` steps of the power iteration ``d <- grad_d KL(p(x) || p(x + xi d))`` (Eq. 13 of the
paper; with 0 steps ``d`` stays random).

Batch norm: the clean pass is an ordinary training forward and updates the running statistics
once per step, as plain training would; the extra, perturbed passes (the power-iteration probe
and the adversarial pass) normalise with their own batch statistics but leave the running
statistics and ``num_batches_tracked`` untouched (the official code's
``update_batch_stats=False``), see ``frozen_batchnorm_stats``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from baselines.pixels import PIXEL_LEVELS, check_normalisation, pixel_std
from comixup.batch import check_batch
from comixup.method import CLEAN_ACCURACY, GradScale, top1_accuracy
from comixup.validation import check_fields, non_negative, positive

Norm = Literal["linf", "l2"]
NORMS: tuple[str, ...] = ("linf", "l2")
POWER_ITERATIONS: tuple[int, ...] = (0, 1)

VAT_LOSS = "vat_loss"
"""KL(p(x) || p(x + r_adv)), averaged over the batch, before the weight ``alpha``."""
PERTURBATION_NORM = "perturbation_norm"
"""Mean per-sample norm of r_adv in the configured norm, in 8-bit pixel steps (equals
``epsilon``)."""


@dataclass(frozen=True)
class VATConfig:
    """VAT's hyperparameters.

    The norm. VAT itself measures the perturbation in l2 (the official ``get_normalized_vector``
    rescales ``d`` to unit l2 norm per sample; its CIFAR-10 radius, ``epsilon = 8.0``, is for
    ZCA-whitened 32x32x3 inputs, about 8 / sqrt(3072) = 0.14 per entry in root mean square).
    The Co-Mixup supplement calls VAT's epsilon the radius of an l-inf ball, so "linf" is the
    default here and "l2" gives VAT's own. In l2, ``r_adv = epsilon * d / ||d||_2``; in l-inf,
    ``r_adv = epsilon * sign(d)``, the steepest-ascent direction of the linearised KL over the
    l-inf ball (as in FGSM), whose largest entry is exactly ``epsilon``. The finite-difference
    probe ``xi * d`` scales ``d`` to unit norm in the chosen norm without changing its direction
    (l-inf: ``d / max|d|``), so the power iteration approximates the dominant eigenvector of
    the KL's Hessian in both cases, and only the final step differs.

    Units. ``epsilon`` counts 8-bit pixel steps and is applied on pixel values in [0, 1]:
    ``r_adv`` has radius ``epsilon / 255`` in pixel scale, i.e. ``epsilon / 255 / std`` per
    channel in the model's standardised inputs (``data_mean`` / ``data_std``, which the runner
    fills from the dataset). Source: the supplement's Table 8 gives VAT l-inf radii of 1 and 2
    without a unit; its authors' own code counts l-inf radii of inputs in these steps (Puzzle
    Mix ``main.py``: ``adv_eps / 255.`` added to ``input * std + mean``, and the FGSM test radii
    4 and 8 the same way), and a radius of 1 or 2 in standardised units would be about 70 or 140
    pixel steps, a perturbation that erases CIFAR images. Table 8 is read in those steps.
    """

    epsilon: float = 1.0
    """Radius of r_adv in 8-bit pixel steps (``epsilon / 255`` on [0, 1] pixels): 1, the
    smaller of the supplement's Table 8 radii {1, 2} and its best VAT setting."""
    xi: float = 1e-2
    """Finite-difference step of the power iteration. VAT's official code (vat_tf ``--xi``)
    uses 1e-6, but in float32 so small a step is below rounding level for inputs of order 1
    (x + xi * d rounds to x in most entries) and the probe's gradient is mostly rounding noise.
    Measured on a small CNN with a batch of 3x32x32 inputs in [0, 1]: cosine to the float64
    power-iteration direction -0.03 at 1e-6, 0.79 at 1e-4, 0.999 at 1e-2; KL at r_adv (l-inf,
    8/255) 4.8e-6 for a random direction, 8.8e-4 at xi = 1e-6, 1.5e-3 at 1e-2. The default is
    therefore 1e-2, still well inside the epsilon ball; pass ``xi=1e-6`` for the official
    value."""
    n_power: int = 1
    """Power iterations, 0 or 1 (vat_tf ``--num_power_iterations``, default 1; the paper finds
    one enough). 0 takes the random direction as it is (Co-Mixup supplement, Table 8)."""
    alpha: float = 1.0
    """Weight of the VAT term (the paper's alpha; vat_tf adds it with weight 1)."""
    norm: Norm = "linf"
    """"linf" (Co-Mixup supplement) or "l2" (VAT's own code); see the class docstring."""
    data_mean: tuple[float, ...] | None = None
    """Per-channel mean that standardised the inputs (None: inputs are pixels in [0, 1])."""
    data_std: tuple[float, ...] | None = None
    """Per-channel std that standardised the inputs; the radius is divided by it."""

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(
                f"norm must be one of {NORMS}, got {self.norm!r}; use 'linf' for the Co-Mixup "
                "supplement's radius or 'l2' for VAT's own."
            )
        if self.n_power not in POWER_ITERATIONS:
            raise ValueError(
                f"n_power must be 0 or 1, got {self.n_power!r}; the Co-Mixup comparison runs "
                "VAT with 0 (random direction) or 1 power iteration."
            )
        if positive(self.epsilon):
            raise ValueError(
                f"epsilon must be a positive, finite radius in 8-bit pixel steps, got "
                f"{self.epsilon!r}; Table 8 uses 1 and 2."
            )
        check_normalisation(self.data_mean, self.data_std)
        check_fields(self, {"xi": positive(self.xi), "alpha": non_negative(self.alpha)})


def pixel_steps(r: torch.Tensor, config: VATConfig) -> torch.Tensor:
    """Per-sample norm (B,) of a perturbation of the standardised inputs, in 8-bit pixel
    steps."""
    return per_sample_norm(r * pixel_std(r, config.data_std), config.norm) * PIXEL_LEVELS


def per_sample_norm(t: torch.Tensor, norm: Norm) -> torch.Tensor:
    """The l2 or l-inf norm of each sample of ``t`` (B, ...): shape (B,)."""
    flat = t.flatten(1)
    return flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, ..., 1), broadcastable against ``like``."""
    return values.view(-1, *([1] * (like.ndim - 1)))


def unit_direction(d: torch.Tensor, norm: Norm) -> torch.Tensor:
    """``d`` rescaled per sample to unit norm, its direction kept; all-zero samples stay zero.

    Divides by the largest entry first (as the official ``get_normalized_vector``), so tiny
    gradients do not underflow when squared.
    """
    tiny = torch.finfo(d.dtype).tiny
    d = d / _per_sample(per_sample_norm(d, "linf").clamp_min(tiny), d)
    if norm == "l2":
        d = d / _per_sample(per_sample_norm(d, "l2").clamp_min(tiny), d)
    return d


def steepest_direction(d: torch.Tensor, norm: Norm) -> torch.Tensor:
    """The unit-norm step that best increases a linear function with gradient ``d``:
    ``d / ||d||_2`` in l2, ``sign(d)`` in l-inf (unit l-inf norm whenever ``d`` is non-zero)."""
    return torch.sign(d) if norm == "linf" else unit_direction(d, "l2")


def kl_from_logits(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Per-sample KL(softmax(p_logits) || softmax(q_logits)): shape (B,)."""
    log_p = F.log_softmax(p_logits, dim=1)
    log_q = F.log_softmax(q_logits, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1)


@contextmanager
def frozen_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """Forward passes inside leave every batch-norm module's running statistics untouched.

    Sets ``track_running_stats = False`` on the modules that track them and restores it on
    exit. In train mode such a module then normalises with the batch's own statistics and
    neither updates ``running_mean`` / ``running_var`` nor counts ``num_batches_tracked``; in
    eval mode it still uses the running statistics, so behaviour is otherwise unchanged. No
    buffer is written, so nothing the autograd graph saved is modified.
    """
    tracking = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    for module in tracking:
        module.track_running_stats = False
    try:
        yield
    finally:
        for module in tracking:
            module.track_running_stats = True


def random_direction(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """d ~ N(0, I) of x's shape, drawn on the generator's device and moved to x's."""
    device = generator.device if generator is not None else x.device
    d = torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype)
    return d.to(x.device)


def virtual_adversarial_perturbation(
    model: nn.Module,
    x: torch.Tensor,
    clean_logits: torch.Tensor,
    config: VATConfig,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """r_adv (detached, x's shape): per-sample norm ``config.epsilon / 255`` in ``config.norm``
    on pixel values, divided by the per-channel std for the standardised inputs.

    ``d`` is drawn from N(0, I) with ``generator`` and scaled to unit norm; each power iteration
    replaces it by the (unit) gradient of ``KL(p(x) || p(x + xi d))`` with respect to ``d``,
    where ``p(x) = softmax(clean_logits)`` is held constant. A sample whose gradient is exactly
    zero (its output does not move at this ``xi``, e.g. below float32 resolution) keeps its
    previous direction, so r_adv never collapses. Finally ``r_adv = epsilon / 255 *
    steepest_direction(d) / std``. The probe passes run in the model's current mode with batch-norm
    running statistics frozen; ``x`` and the parameters' ``.grad`` are not touched.
    """
    if clean_logits.ndim != 2 or clean_logits.shape[0] != x.shape[0]:
        raise ValueError(
            f"clean_logits must be (B, num_classes) with B = {x.shape[0]} (x's batch size), "
            f"got {tuple(clean_logits.shape)}; pass the model's logits on x."
        )
    x = x.detach()
    p_logits = clean_logits.detach()
    d = unit_direction(random_direction(x, generator), config.norm)
    for _ in range(config.n_power):
        probe = (config.xi * d).requires_grad_(True)
        with torch.enable_grad(), frozen_batchnorm_stats(model):
            # Summed, not averaged: each sample's gradient keeps its own scale (only the
            # direction is used), away from underflow for large batches.
            divergence = kl_from_logits(p_logits, model(x + probe)).sum()
        (grad,) = torch.autograd.grad(divergence, probe)
        moved = _per_sample(per_sample_norm(grad, "linf") > 0, grad)
        d = torch.where(moved, unit_direction(grad, config.norm), d)
    radius = config.epsilon / PIXEL_LEVELS
    step = radius * steepest_direction(d, config.norm) / pixel_std(x, config.data_std)
    return step.detach()


@dataclass
class VATMethod:
    """VAT's training step: cross-entropy on the clean batch plus ``alpha`` times the KL
    between the clean prediction (held constant) and the prediction at ``x + r_adv``.

    Labels are class indices (B,) or soft labels (B, num_classes); the cross-entropy is
    against the soft target, as VAT's own ``ce_loss``. Three forward passes with one power
    iteration (two with none): clean (updates batch-norm statistics), probe, adversarial.
    """

    num_classes: int
    config: VATConfig = field(default_factory=VATConfig)

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        grad_scale: GradScale | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        del grad_scale  # every pass of this step is back-propagated by the caller
        if x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(
                f"x must be a non-empty batch (B, ...) with B >= 1, got {tuple(x.shape)}."
            )
        target = check_batch(x, y, num_classes=self.num_classes)
        x = x.detach()
        logits = model(x)
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ValueError(
                f"the model returns logits of shape {tuple(logits.shape)}, expected "
                f"({x.shape[0]}, {self.num_classes}); set num_classes to the model's output size."
            )
        clean_loss = F.cross_entropy(logits, target.to(logits.dtype))
        r_adv = virtual_adversarial_perturbation(model, x, logits, self.config, generator=generator)
        with frozen_batchnorm_stats(model):
            adversarial_logits = model(x + r_adv)
        vat_loss = kl_from_logits(logits.detach(), adversarial_logits).mean()
        loss = clean_loss + self.config.alpha * vat_loss
        stats = {
            CLEAN_ACCURACY: top1_accuracy(logits.detach(), target),
            VAT_LOSS: vat_loss.item(),
            PERTURBATION_NORM: pixel_steps(r_adv, self.config).mean().item(),
        }
        return loss, stats
