"""The training configuration shared by every experiment, and ``--set`` overrides.

A :class:`TrainConfig` is everything a run needs besides the method's own settings (those live
in the method's config, see ``benchmarks.methods``), so every method of one comparison trains
the identical architecture and schedule. ``apply_overrides`` turns ``--set key=value`` strings
into a new config, typed and checked (``benchmarks.configs.overrides``); ``method.<field>`` or
``<method>.<field>`` go to the method. The defaults are the CIFAR-100
experiment's; the other experiments' files change what differs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import inf
from typing import Any


@dataclass(frozen=True)
class Phase:
    """A stretch of training from ``start_epoch`` with its own batch size, crop size and
    learning-rate curve (the official fast-ImageNet schedule of the Co-Mixup ImageNet code)."""

    start_epoch: int
    batch_size: int
    crop_size: int | None = None
    """Training crop side (ImageNet's RandomResizedCrop); None keeps the dataset's."""
    min_scale: float = 0.08
    """Smallest crop area of RandomResizedCrop."""
    lr_epochs: tuple[float, ...] = ()
    lr_values: tuple[float, ...] = ()
    """Learning rate interpolated linearly between (epoch, value) points, per iteration."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and value == value and abs(value) != inf)


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "cifar100"
    model: str = "preactresnet18"
    method: str = "vanilla"
    method_settings: dict[str, Any] = field(default_factory=dict)
    """Overrides of the method's own config (``--set method.alpha=0.5``)."""
    epochs: int = 300
    """Co-Mixup README, CIFAR-100 PreActResNet18: ``--epochs 300``."""
    batch_size: int = 100
    """Official ``main.py`` default ``--batch_size 100``."""
    lr: float = 0.2
    """Co-Mixup README: ``--learning_rate 0.2``."""
    momentum: float = 0.9
    """Official ``main.py`` ``--momentum 0.9``."""
    weight_decay: float = 1e-4
    """Official ``main.py`` ``--decay 0.0001``."""
    nesterov: bool = True
    """The official code's SGD uses Nesterov momentum."""
    milestones: tuple[int, ...] = (100, 200)
    """Co-Mixup README: ``--schedule 100 200``."""
    lr_decay: float = 0.1
    """Co-Mixup README: ``--gammas 0.1 0.1``."""
    phases: tuple[Phase, ...] = ()
    """Training phases (ImageNet); when given they set the batch size and learning rate."""
    bn_weight_decay: bool = True
    """Weight decay on batch-norm parameters (the fast-ImageNet code exempts them)."""
    width: int | None = None
    """First-stage width of the model (None: the paper's; 16 for CPU smoke runs)."""
    stride: int = 1
    """First conv stride: 1 for 32x32 inputs, 2 for Tiny-ImageNet (official code)."""
    seed: int = 0
    limit_batches: int | None = None
    """Train on at most this many batches per epoch (smoke runs)."""
    limit_eval_batches: int | None = None
    """Evaluate on at most this many batches (smoke runs)."""
    patience: int | None = None
    """Stop when test accuracy has not improved for this many epochs (None: never)."""
    amp: bool = False
    """Native mixed precision (torch.amp): float16 on CUDA, bfloat16 on the CPU."""
    workers: int = 0
    """Data loader processes (official: 0 for CIFAR, 8 for Tiny-ImageNet)."""
    warmup_batches: int = 5
    """Batches left out of the timing summary (cuDNN autotuning, allocator warm-up)."""
    data_dir: str | None = None
    download: bool = False

    def __post_init__(self) -> None:
        problems = [message for ok, message in self._checks() if not ok]
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems) + ".")

    def _checks(self) -> list[tuple[bool, str]]:
        """(holds, what is allowed) for every field with a range."""

        def positive(name: str, *, optional: bool = False) -> tuple[bool, str]:
            value = getattr(self, name)
            ok = (optional and value is None) or (_is_int(value) and value >= 1)
            allowed = "a positive integer" + (" or null" if optional else "")
            return ok, f"{name} must be {allowed}, got {value!r}"

        def at_least(name: str, low: float, *, strict: bool = False) -> tuple[bool, str]:
            value = getattr(self, name)
            ok = _is_number(value) and (value > low if strict else value >= low)
            return ok, f"{name} must be a number {'>' if strict else '>='} {low}, got {value!r}"

        milestones = self.milestones
        return [
            positive("epochs"),
            positive("batch_size"),
            positive("limit_batches", optional=True),
            positive("limit_eval_batches", optional=True),
            positive("patience", optional=True),
            positive("width", optional=True),
            positive("stride"),
            at_least("lr", 0),  # 0 freezes the weights: a legitimate check run
            at_least("lr_decay", 0, strict=True),
            at_least("weight_decay", 0),
            (_is_number(self.momentum) and 0 <= self.momentum < 1,
             f"momentum must be in [0, 1), got {self.momentum!r}"),
            (_is_int(self.seed) and self.seed >= 0,
             f"seed must be a non-negative integer, got {self.seed!r}"),
            (_is_int(self.workers) and self.workers >= 0,
             f"workers must be a non-negative integer, got {self.workers!r}"),
            (_is_int(self.warmup_batches) and self.warmup_batches >= 0,
             f"warmup_batches must be a non-negative integer, got {self.warmup_batches!r}"),
            (isinstance(milestones, tuple)
             and all(_is_int(m) and m >= 0 for m in milestones)
             and list(milestones) == sorted(milestones),
             f"milestones must be ascending non-negative epochs, e.g. [100,200], got "
             f"{milestones!r}"),
        ]  # fmt: skip

    def to_params(self) -> dict[str, str]:
        """Flat string parameters for MLflow."""
        params = {}
        for key, value in dataclasses.asdict(self).items():
            if key == "phases":
                params[key] = json.dumps(value)
            elif key == "method_settings":
                for name, setting in value.items():
                    params[f"method.{name}"] = json.dumps(setting)
            else:
                params[key] = json.dumps(value) if not isinstance(value, str) else value
        return params


def apply_overrides(config: TrainConfig, assignments: Sequence[str]) -> TrainConfig:
    """``["epochs=2", "method.alpha=0.5", "cutmix.alpha=0.2"]`` -> a new config for one run,
    every value converted to its field's type and checked (``benchmarks.configs.overrides``)."""
    return resolve_overrides(config, assignments)[0]


def resolve_overrides(
    config: TrainConfig, assignments: Sequence[str], methods: Sequence[str] | None = None
) -> tuple[TrainConfig, dict[str, dict[str, Any]]]:
    """The config with the training overrides applied, and each method's settings.

    ``methods`` are the methods the command runs (default: the config's one, after a
    ``method=NAME`` assignment); with one method its settings also go to ``method_settings``.
    """
    from benchmarks.configs.overrides import split_assignments

    own = [a for a in assignments if a.startswith("method=")]
    rest = [a for a in assignments if not a.startswith("method=")]
    chosen = [a.partition("=")[2].strip().strip('"') for a in own]
    if chosen:
        config = dataclasses.replace(config, method=chosen[-1])
    methods = tuple(methods or (config.method,))
    parsed = split_assignments(rest, methods, TrainConfig)
    config = dataclasses.replace(config, **parsed.fields)
    if len(methods) == 1:
        own = {**config.method_settings, **parsed.methods.get(methods[0], {})}
        config = dataclasses.replace(config, method_settings=own)
    return config, parsed.methods
