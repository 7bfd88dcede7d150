"""The training configuration shared by every experiment, and ``--set`` overrides.

A :class:`TrainConfig` is everything a run needs besides the method's own settings (those live
in the method's config, see ``benchmarks.methods``), so every method of one comparison trains
the identical architecture and schedule. ``apply_overrides`` turns ``--set key=value`` strings
into a new config; ``method.<field>=value`` goes to the method. The defaults are the CIFAR-100
experiment's; the other experiments' files change what differs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
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


def _parse(text: str, like: Any) -> Any:
    """Parse ``text`` as JSON when possible (numbers, booleans, lists, null), else a string."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if isinstance(like, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(like, tuple) and isinstance(value, int | float):
        return (value,)
    if isinstance(like, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def apply_overrides(config: TrainConfig, assignments: list[str]) -> TrainConfig:
    """``["epochs=2", "method.alpha=0.5"]`` -> a new config; unknown keys raise ValueError."""
    fields = {item.name: item for item in dataclasses.fields(TrainConfig)}
    changes: dict[str, Any] = {}
    method_settings = dict(config.method_settings)
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {assignment!r}.")
        if key.startswith("method."):
            method_settings[key.removeprefix("method.")] = _parse(text, None)
            continue
        if key not in fields or key in ("method_settings", "phases"):
            known = ", ".join(n for n in fields if n not in ("method_settings", "phases"))
            raise ValueError(f"unknown setting {key!r}; settings are {known}, or method.<field>.")
        changes[key] = _parse(text, getattr(config, key))
    return dataclasses.replace(config, **changes, method_settings=method_settings)
