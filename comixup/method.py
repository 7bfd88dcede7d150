"""The Method protocol, its shared helpers, and Co-Mixup's training step behind it.

A method turns a batch into a training loss: ``method.loss(model, x, y, generator=g) ->
(loss, stats)``. Mixing methods differ in what they need (input gradients, hidden states,
extra forward passes), so each owns its whole step; the runner only calls ``loss`` and
``backward``. ``stats`` holds plain floats for logging, under the keys below where they apply.

Losses follow the official Puzzle Mix / Co-Mixup training code, which all the paper's mixing
baselines were run with: binary cross-entropy between the softmax output and the (soft) target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn

from comixup.batch import MixedBatch, SaliencyMixer
from comixup.config import CoMixupConfig
from comixup.mixing import CoMixup
from comixup.saliency import saliency_from_gradient
from comixup.solver import numpy_rng

CLEAN_ACCURACY = "clean_accuracy"
"""Top-1 accuracy (0-1) of the clean forward pass, for methods that make one."""
LAMBDA = "lambda"
"""Mean realised mixing ratio: the share of each output taken by its first (pairwise methods)
or largest (Co-Mixup) source, after box clipping or labeling."""
SOURCES_PER_OUTPUT = "sources_per_output"
"""Mean number of inputs that contribute to an output."""
SALIENCY_SECONDS = "saliency_seconds"
"""Wall time spent computing saliency (clean pass and input gradient)."""
MIXING_SECONDS = "mixing_seconds"
"""Wall time spent drawing the mix: the solver / graph cut / transport and the mixing."""


GradScale = Callable[[torch.Tensor], torch.Tensor]
"""Scales a loss before a method back-propagates part of its step itself: the runner's
``torch.amp.GradScaler.scale`` under mixed precision (identity when None)."""


@runtime_checkable
class Method(Protocol):
    """Anything that turns a batch into a training loss."""

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        grad_scale: GradScale | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The scalar training loss for images x (B, ...) and labels y, and stats to log.

        ``y`` holds class indices (B,) or soft / one-hot labels (B, num_classes). Every random
        draw comes from ``generator`` (torch's global generator when None). The caller zeroes
        the gradients before and back-propagates the returned loss after; a method whose step
        has a forward pass of its own before the mixed one (Puzzle Mix's and Co-Mixup's clean
        pass) back-propagates that part itself, once, scaled by ``grad_scale`` (the runner's
        ``GradScaler.scale`` under mixed precision), and returns its value detached, so every
        forward pass is back-propagated exactly once.
        """
        ...


@runtime_checkable
class WrapsModel(Protocol):
    """Optional part of the Method protocol, for methods that run the model in their own way.

    Before training under DistributedDataParallel the runner calls ``method.wrap_model(model)``
    when the method has it, and wraps the result in DDP, so that the method's whole forward
    pass runs inside DDP's ``forward`` (Manifold Mixup's stage-by-stage forward does).
    """

    def wrap_model(self, model: nn.Module) -> nn.Module: ...


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` after the device's queued work is done, so that phase times
    measured inside a method are honest on CUDA too (a no-op wait on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def soft_target_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy between softmax(logits) and soft targets, averaged over all
    entries (the official codes' ``BCELoss()(softmax(output), target)``)."""
    return F.binary_cross_entropy(logits.softmax(dim=1), target.to(logits.dtype))


def top1_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Share of inputs whose argmax matches the label (the largest entry of a soft label)."""
    labels = y.argmax(dim=1) if y.ndim == 2 else y
    return (logits.argmax(dim=1) == labels).float().mean().item()


def sample_beta(alpha: float, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """``size`` draws from Beta(alpha, alpha) driven by ``generator``, as a CPU float tensor.

    torch.distributions cannot take a generator; Beta(a, a) is X / (X + Y) for independent
    Gamma(a) draws, which NumPy draws from a generator seeded from ``generator``.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}.")
    return torch.from_numpy(numpy_rng(generator).beta(alpha, alpha, size=size)).float()


class SaliencyPass(NamedTuple):
    """What the clean pass of a saliency-guided step yields."""

    saliency: torch.Tensor
    """(B, H, W) saliency from the input gradient."""
    logits: torch.Tensor
    """Clean logits, detached."""
    loss: torch.Tensor | None
    """The scaled clean loss with its graph (None when ``clean_weight`` is 0)."""
    input_grad: torch.Tensor
    """The gradient of that loss with respect to the inputs (B, C, H, W)."""


def saliency_pass(
    model: nn.Module,
    x: torch.Tensor,
    y_soft: torch.Tensor,
    clean_weight: float,
    grad_scale: GradScale | None = None,
) -> SaliencyPass:
    """Clean forward pass, input-gradient saliency, and the clean loss of the step.

    With ``clean_weight`` > 0 the cross-entropy of the clean pass, scaled by it, is
    back-propagated here, once: that one backward fills the input gradient (the saliency) and
    adds the clean loss's weight gradients to the parameters' ``.grad`` (the clean-input
    regularisation of Puzzle Mix and Co-Mixup), as the official ``main.py`` does with
    ``loss_batch_mean.backward()`` before the mixed pass. The loss is returned detached, for
    the step's value. With 0 the pass runs in eval mode, only the input gradient is taken, and
    no clean loss is returned.
    """
    inputs = x.detach().requires_grad_(True)
    was_training = model.training
    if clean_weight == 0:
        model.eval()
    try:
        logits = model(inputs)
        per_sample = F.cross_entropy(logits, y_soft, reduction="none")
        clean_loss = (per_sample * (clean_weight if clean_weight > 0 else 1.0)).mean()
        if clean_weight > 0:
            grad = _backward_with_input_grad(clean_loss, inputs, grad_scale)
        else:
            (grad,) = torch.autograd.grad(clean_loss, inputs)
    finally:
        model.train(was_training)
    loss = clean_loss.detach() if clean_weight > 0 else None
    return SaliencyPass(saliency_from_gradient(grad), logits.detach(), loss, grad)


def _backward_with_input_grad(
    loss: torch.Tensor, inputs: torch.Tensor, grad_scale: GradScale | None
) -> torch.Tensor:
    """``grad_scale(loss).backward()``; the inputs' gradient of the unscaled loss."""
    if grad_scale is None:
        loss.backward()
        return inputs.grad
    grad_scale(loss).backward()
    factor = grad_scale(torch.ones((), device=loss.device, dtype=torch.float32))
    return inputs.grad / factor


def clean_pass_with_saliency(
    model: nn.Module, x: torch.Tensor, y_soft: torch.Tensor, clean_weight: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """saliency (B, H, W), clean logits (detached), and the clean loss (detached; its weight
    gradients are in ``.grad``) or None: the first three fields of :func:`saliency_pass`."""
    saliency, logits, loss, _ = saliency_pass(model, x, y_soft, clean_weight)
    return saliency, logits, loss


def mixed_batch_loss(
    model: nn.Module, x: torch.Tensor, mix: Callable[[], MixedBatch]
) -> tuple[torch.Tensor, dict[str, float]]:
    """The step of the input mixers (Input Mixup, CutMix): draw and apply the mix, then BCE on
    the softmax of the mixed batch against its soft labels; the mix is timed."""
    start = clock(x.device)
    mixed = mix()
    mixed_done = clock(x.device)
    loss = soft_target_bce(model(mixed.x_mixed), mixed.y_soft)
    return loss, {LAMBDA: mixed.lam.mean().item(), MIXING_SECONDS: mixed_done - start}


SaliencyMix = Callable[[SaliencyPass], tuple[torch.Tensor, torch.Tensor, dict[str, float]]]
"""the clean pass (its saliency (B, H, W) above all) -> (mixed inputs, soft targets, the
mix's own stats)."""


def saliency_guided_loss(
    model: nn.Module,
    x: torch.Tensor,
    y_soft: torch.Tensor,
    *,
    clean_weight: float,
    mix: SaliencyMix,
    clean_input: torch.Tensor | None = None,
    grad_scale: GradScale | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training step shared by Puzzle Mix and Co-Mixup (official ``main.py`` ``train``):
    a clean pass gives the saliency (and, with ``clean_weight`` > 0, a clean loss that is
    back-propagated there, see :func:`saliency_pass`), ``mix`` builds the mixed batch from it,
    and the returned loss is BCE on the softmax of the mixed batch against its soft targets
    (to back-propagate) plus the clean loss's value (detached: already back-propagated). The
    clean pass runs on ``clean_input`` when given (Puzzle Mix's adversarial step), else on
    ``x``."""
    start = clock(x.device)
    clean_x = x if clean_input is None else clean_input
    clean = saliency_pass(model, clean_x, y_soft, clean_weight, grad_scale)
    saliency_done = clock(x.device)
    with torch.no_grad():
        x_mixed, target, mix_stats = mix(clean)
    mixing_done = clock(x.device)
    loss = soft_target_bce(model(x_mixed), target)
    if clean.loss is not None:
        loss = loss + clean.loss
    stats = {
        CLEAN_ACCURACY: top1_accuracy(clean.logits, y_soft),
        SALIENCY_SECONDS: saliency_done - start,
        MIXING_SECONDS: mixing_done - saliency_done,
    }
    return loss, stats | mix_stats


class MixerMethod:
    """A Method built on a mixer: ``loss`` checks the batch with the ``mixer`` (a property
    built from the method's config) and hands the checked labels to ``mixed_loss``."""

    @property
    def mixer(self) -> Any:
        raise NotImplementedError

    def mixed_loss(
        self,
        model: nn.Module,
        x: Tensor,
        y_soft: Tensor,
        generator: Generator | None,
        grad_scale: GradScale | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        grad_scale: GradScale | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        return self.mixed_loss(model, x, self.mixer.check(x, y), generator, grad_scale)


class SaliencyMixerMethod(MixerMethod):
    """The training step of a saliency-guided mixer (Puzzle Mix, Co-Mixup; official
    ``main.py`` ``train``), shared by both:

    1. clean pass: per-sample cross-entropy scaled by ``2 * clean_lam / num_classes``,
       back-propagated once: its input gradient gives the saliency, its weight gradients stay
       in ``.grad`` for the step;
    2. ``mixer_class(config, num_classes=...)`` mixes the batch guided by that saliency;
    3. BCE on the softmax of the mixed batch against the soft labels.

    Subclasses are dataclasses with the fields ``num_classes`` and ``config`` (which has
    ``clean_lam``), and set ``mixer_class``.
    """

    mixer_class: ClassVar[type[SaliencyMixer]]
    num_classes: int
    config: Any

    @property
    def mixer(self) -> SaliencyMixer:
        return self.mixer_class(self.config, num_classes=self.num_classes)

    def mix_stats(self, mixed: Any) -> dict[str, float]:
        """Stats of one mix: the mean share of each output's first / largest source."""
        return {LAMBDA: mixed.lam.mean().item()}

    def mixed_loss(
        self,
        model: nn.Module,
        x: Tensor,
        y_soft: Tensor,
        generator: Generator | None,
        grad_scale: GradScale | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        mixer = self.mixer

        def mix(clean: SaliencyPass):
            mixed = mixer.mix(x, y_soft, clean.saliency.detach(), generator=generator)
            return mixed.x_mixed, mixed.y_soft, self.mix_stats(mixed)

        clean_weight = 2 * self.config.clean_lam / self.num_classes
        return saliency_guided_loss(
            model, x, y_soft, clean_weight=clean_weight, mix=mix, grad_scale=grad_scale
        )


@dataclass
class CoMixupMethod(SaliencyMixerMethod):
    """Co-Mixup's training step (Kim et al. 2021; official ``main.py`` ``train``): the
    saliency-guided step with :class:`CoMixup`, i.e. the compatibility matrix from the
    salient-region distances and Algorithm 1 over partitions of ``config.partition_size``."""

    mixer_class = CoMixup
    num_classes: int
    config: CoMixupConfig = field(default_factory=CoMixupConfig)

    def mix_stats(self, mixed: MixedBatch) -> dict[str, float]:
        """The largest share taken by one input, and how many inputs an output uses."""
        lam, sources = mixed.lam.mean().item(), mixed.sources.mean().item()
        return {LAMBDA: lam, SOURCES_PER_OUTPUT: sources}
