"""Manifold Mixup (Verma et al., "Manifold Mixup: Better Representations by Interpolating
Hidden States", ICML 2019).

Mixes hidden states instead of inputs: a layer k is drawn uniformly from ``layers`` (official
code: {input, after block 1, after block 2}, ``random.randint(0, 2)``), the batch runs up to k,
its states are blended with a partner's (random permutation, lambda ~ Beta(alpha, alpha) per
batch), and the forward pass continues.

Mixing points protocol: a model opts in by defining ``mixing_stages()``, returning callables
``[s_0, s_1, ...]`` whose composition ``s_n(...s_1(s_0(x)))`` is its forward pass. Mixing at
layer k blends the input of stage k (k = 0: the images themselves). For the suite's ResNets:
``[stem + block 1, block 2, rest]``, so k = 1 is after block 1 and k = 2 after block 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from baselines.pairs import check_alpha, draw_pairing, mix_pair_labels, mix_pair_tensors
from comixup.batch import check_batch
from comixup.method import LAMBDA, MIXING_SECONDS, GradScale, clock, soft_target_bce
from comixup.validation import check_fields, flag

MIXING_LAYER = "mixing_layer"
"""Stat key: the layer mixed at in this step."""


@runtime_checkable
class HasMixingStages(Protocol):
    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        """Stages whose composition is the model's forward pass."""
        ...


@dataclass(frozen=True)
class ManifoldMixupConfig:
    alpha: float = 2.0
    """Beta(alpha, alpha): 2.0 in the Puzzle Mix README's CIFAR-100 manifold mixup command
    (``--train mixup_hidden --mixup_alpha 2.0``); 0.2 for Tiny-ImageNet (benchmarks.methods)."""
    layers: tuple[int, ...] = (0, 1, 2)
    """Candidate mixing layers, drawn uniformly (official: input, after block 1 or 2)."""
    per_sample: bool = False
    """One lambda per sample instead of the paper's one per batch."""

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if not self.layers or any(
            isinstance(k, bool) or not isinstance(k, int) for k in self.layers
        ):
            raise ValueError(
                f"layers must be a non-empty tuple of stage indices, got {self.layers!r}; "
                "the official choice is (0, 1, 2)."
            )
        check_fields(self, {"per_sample": flag(self.per_sample)})


def stages_of(model: nn.Module) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
    """The model's mixing stages, or a ValueError saying how to declare them."""
    if not isinstance(model, HasMixingStages):
        raise ValueError(
            f"{type(model).__name__} declares no mixing points: Manifold Mixup needs a "
            "`mixing_stages()` method returning the stages whose composition is forward() "
            "(see baselines.manifold_mixup)."
        )
    return model.mixing_stages()


class StagedForward(nn.Module):
    """Runs a staged model with an optional mix inside ``forward``.

    Manifold Mixup calls stages one by one; a DistributedDataParallel wrapper only synchronises
    gradients for work done inside its own ``forward``. Wrapping the model in this module
    before DDP lets the mix travel through DDP as a keyword: ``ddp(x, mixing=(k, mix))``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        return stages_of(self.model)

    def forward(
        self,
        x: torch.Tensor,
        mixing: tuple[int, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        if mixing is None:
            return self.model(x)
        return run_stages(stages_of(self.model), x, *mixing)


def run_stages(
    stages: Sequence[Callable[[torch.Tensor], torch.Tensor]],
    x: torch.Tensor,
    layer: int,
    mix: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Compose ``stages``, applying ``mix`` to the input of stage ``layer``."""
    hidden = x
    for index, stage in enumerate(stages):
        if index == layer:
            hidden = mix(hidden)
        hidden = stage(hidden)
    return hidden


def mixed_forward(
    model: nn.Module, x: torch.Tensor, layer: int, mix: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """Forward ``x`` through ``model`` mixing at ``layer``; through DDP's forward when the
    model is a DDP-wrapped :class:`StagedForward`."""
    inner = getattr(model, "module", None)
    if isinstance(model, StagedForward) or isinstance(inner, StagedForward):
        return model(x, mixing=(layer, mix))
    return run_stages(stages_of(model), x, layer, mix)


def _unwrapped(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


@dataclass
class ManifoldMixupMethod:
    num_classes: int
    config: ManifoldMixupConfig = field(default_factory=ManifoldMixupConfig)

    def wrap_model(self, model: nn.Module) -> nn.Module:
        """The module to wrap in DDP: mixes then travel through DDP's forward."""
        return StagedForward(model)

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
        stages = stages_of(_unwrapped(model))
        if max(self.config.layers) >= len(stages) or min(self.config.layers) < 0:
            raise ValueError(
                f"mixing layers {self.config.layers} do not fit a model with {len(stages)} "
                f"stages; use layers in 0..{len(stages) - 1}."
            )
        y_soft = check_batch(x, y, num_classes=self.num_classes)
        start = clock(x.device)
        choice = torch.randint(len(self.config.layers), (), generator=generator).item()
        layer = self.config.layers[choice]
        pairing = draw_pairing(
            x.shape[0], self.config.alpha, per_sample=self.config.per_sample, generator=generator
        )
        target = mix_pair_labels(y_soft, pairing, pairing.lam)
        drawn = clock(x.device)
        logits = mixed_forward(model, x, layer, lambda h: mix_pair_tensors(h, pairing))
        loss = soft_target_bce(logits, target)
        stats = {LAMBDA: pairing.lam.mean().item(), MIXING_LAYER: float(layer)}
        stats[MIXING_SECONDS] = drawn - start
        return loss, stats
