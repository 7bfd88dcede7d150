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
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from comixup.config import CoMixupConfig
from comixup.mixing import co_mixup_labeling, mix_inputs, mix_labels, partitions, to_soft_labels
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
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The scalar training loss for images x (B, ...) and labels y, and stats to log.

        ``y`` holds class indices (B,) or soft / one-hot labels (B, num_classes). Every random
        draw comes from ``generator`` (torch's global generator when None).
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


def soft_targets(y: torch.Tensor, num_classes: int, batch_size: int) -> torch.Tensor:
    """Validated (B, num_classes) float targets from class indices or soft labels."""
    if y.shape[0] != batch_size:
        raise ValueError(
            f"batch sizes disagree: {batch_size} inputs but {y.shape[0]} labels; "
            "pass one label per input."
        )
    return to_soft_labels(y, num_classes, torch.float32)


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


def clean_pass_with_saliency(
    model: nn.Module, x: torch.Tensor, y_soft: torch.Tensor, clean_weight: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Clean forward pass, input-gradient saliency, and the clean loss to add to the step.

    With ``clean_weight`` > 0 the cross-entropy of the clean pass, scaled by it, is returned
    with its graph so that its weight gradients join the mixed loss's (the clean-input
    regularisation of Puzzle Mix and Co-Mixup, which the official code gets by not zeroing the
    gradients in between). With 0 the pass runs in eval mode and no clean loss is returned.

    Returns:
        saliency (B, H, W), clean logits (detached), and the clean loss or None.
    """
    inputs = x.detach().requires_grad_(True)
    was_training = model.training
    if clean_weight == 0:
        model.eval()
    try:
        logits = model(inputs)
        per_sample = F.cross_entropy(logits, y_soft, reduction="none")
        scaled = per_sample * (clean_weight if clean_weight > 0 else 1.0)
        clean_loss = scaled.mean()
        (grad,) = torch.autograd.grad(clean_loss, inputs, retain_graph=clean_weight > 0)
    finally:
        model.train(was_training)
    saliency = saliency_from_gradient(grad)
    return saliency, logits.detach(), clean_loss if clean_weight > 0 else None


SaliencyMix = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, dict[str, float]]]
"""saliency (B, H, W) -> (mixed inputs, soft targets, the mix's own stats)."""


def saliency_guided_loss(
    model: nn.Module,
    x: torch.Tensor,
    y_soft: torch.Tensor,
    *,
    clean_weight: float,
    mix: SaliencyMix,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training step shared by Puzzle Mix and Co-Mixup (official ``main.py`` ``train``):
    a clean pass gives the saliency (and, with ``clean_weight`` > 0, a clean loss whose weight
    gradients are kept), ``mix`` builds the mixed batch from it, and the loss is BCE on the
    softmax of the mixed batch against its soft targets plus that clean loss."""
    start = clock(x.device)
    saliency, clean_logits, clean_loss = clean_pass_with_saliency(model, x, y_soft, clean_weight)
    saliency_done = clock(x.device)
    with torch.no_grad():
        x_mixed, target, mix_stats = mix(saliency.detach())
    mixing_done = clock(x.device)
    loss = soft_target_bce(model(x_mixed), target)
    if clean_loss is not None:
        loss = loss + clean_loss
    stats = {
        CLEAN_ACCURACY: top1_accuracy(clean_logits, y_soft),
        SALIENCY_SECONDS: saliency_done - start,
        MIXING_SECONDS: mixing_done - saliency_done,
    }
    return loss, stats | mix_stats


@dataclass
class CoMixupMethod:
    """Co-Mixup's training step (Kim et al. 2021; official ``main.py`` ``train``).

    1. clean pass: per-sample cross-entropy scaled by ``2 * clean_lam / num_classes``; its input
       gradient gives the saliency, its weight gradients are kept (added to the loss);
    2. the compatibility matrix from the salient-region distances and Algorithm 1 over
       partitions of ``config.partition_size`` give the mixed batch and soft labels;
    3. BCE on the softmax of the mixed batch against the soft labels.
    """

    num_classes: int
    config: CoMixupConfig = field(default_factory=CoMixupConfig)

    def loss(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        y_soft = soft_targets(y, self.num_classes, x.shape[0])
        y_soft = y_soft.to(x.device)

        def mix(saliency: torch.Tensor):
            labelings = co_mixup_labeling(saliency, self.config, generator=generator)
            parts = partitions(x.shape[0], self.config.partition_size)
            pairs = list(zip(parts, labelings, strict=True))
            x_mixed = torch.cat([mix_inputs(z.to(x.device), x[p]) for p, z in pairs])
            target = torch.cat([mix_labels(z.to(x.device), y_soft[p]) for p, z in pairs])
            # Per output: the largest share taken by one input, and how many inputs it uses.
            shares = [z.sum(dim=(1, 2)) / (z.shape[1] * z.shape[2]) for z in labelings]
            largest = torch.cat([share.max(dim=1).values for share in shares])
            sources = torch.cat([(share > 0).sum(dim=1).float() for share in shares])
            stats = {LAMBDA: largest.mean().item(), SOURCES_PER_OUTPUT: sources.mean().item()}
            return x_mixed, target, stats

        clean_weight = 2 * self.config.clean_lam / self.num_classes
        return saliency_guided_loss(model, x, y_soft, clean_weight=clean_weight, mix=mix)
