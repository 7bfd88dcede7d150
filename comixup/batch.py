"""A batch at the mixers' boundary: the one validation that every mixer and method runs, the
mixed batch they return, and the base of the saliency-guided mixers.

``check_batch`` checks the inputs (floating point, non-empty, images where the mixer needs
them), the labels (class indices or soft labels, one per input) and, for the saliency-guided
mixers, the saliency maps; it returns the labels as float32 soft labels (B, K) on ``x.device``,
the form every mixer mixes (torchvision v2's MixUp / CutMix check the same things).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from comixup.saliency import check_saliency


def to_soft_labels(y: torch.Tensor, num_classes: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Class indices (B,) of any integer or bool dtype -> one-hot (B, K); soft or one-hot labels
    (B, K) -> checked (finite, non-negative, rows summing to 1) and renormalised in ``dtype``."""
    if y.is_complex():
        raise ValueError(f"labels must be real class indices or soft labels, got {y.dtype}.")
    if y.ndim == 1:
        if y.is_floating_point():
            raise ValueError(
                "labels of shape (B,) must be integer class indices, got floating point; "
                "pass soft labels as a (B, num_classes) tensor."
            )
        if num_classes is None:
            raise ValueError("num_classes is needed to one-hot encode class-index labels.")
        y = y.long()
        if y.numel() and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(
                f"class indices must lie in [0, {num_classes}), "
                f"got [{int(y.min())}, {int(y.max())}]."
            )
        return F.one_hot(y, num_classes).to(dtype)
    if y.ndim == 2:
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(
                f"soft labels have {y.shape[1]} classes, num_classes is {num_classes}."
            )
        return check_soft_labels(y, dtype)
    raise ValueError(
        f"labels must be class indices (B,) or soft labels (B, K), got {tuple(y.shape)}."
    )


def check_soft_labels(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Soft labels (B, K) in ``dtype``, each row renormalised to sum to 1 after checking that
    it is a distribution: finite, non-negative, summing to 1 within the rounding of its dtype
    (1e-3; a few units in the last place for 16-bit labels)."""
    if y.is_floating_point() and not torch.isfinite(y).all():
        raise ValueError("soft labels contain NaN or inf; pass finite class probabilities.")
    if y.numel() == 0 or (y < 0).any():
        raise ValueError(
            "soft labels must be non-negative class probabilities with at least one class."
        )
    labels = y.to(torch.float64)
    sums = labels.sum(dim=1)
    eps = torch.finfo(y.dtype).eps if y.is_floating_point() else 0.0
    tolerance = max(1e-3, 4 * eps)
    if ((sums - 1).abs() > tolerance).any():
        worst = float(sums[(sums - 1).abs().argmax()])
        raise ValueError(
            f"soft labels must sum to 1 per row (within {tolerance:.0e}), one sums to {worst:.6g}; "
            "normalise them (y / y.sum(1, keepdim=True)) or pass class indices."
        )
    return (labels / sums.unsqueeze(1)).to(dtype)


def check_inputs(x: torch.Tensor, *, images: bool) -> None:
    """Raise a ValueError naming the fix for inputs no mixer can take."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}.")
    if images and x.ndim != 4:
        raise ValueError(f"x must be a batch of images (B, C, H, W), got {tuple(x.shape)}.")
    if x.ndim < 1:
        raise ValueError("x must be a batch (B, ...) with one input per row, got a scalar.")
    if not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor, got {x.dtype}; convert integer images first, "
            "e.g. x.float() / 255 or torchvision.transforms.v2.ToDtype(torch.float32, scale=True)."
        )
    if x.shape[0] == 0:
        raise ValueError("the batch is empty; mixing needs at least one input.")
    if not torch.isfinite(x).all():
        raise ValueError(
            "x contains NaN or inf values; check the data pipeline (and the model, if x comes "
            "from one) before mixing."
        )


def check_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    num_classes: int | None,
    saliency: torch.Tensor | None = None,
    images: bool = False,
) -> torch.Tensor:
    """Validate a batch; return its labels as float32 soft labels (B, K) on ``x.device``.

    Args:
        x: inputs (B, ...), floating point; (B, C, H, W) when ``images``.
        y: class indices (B,) (with ``num_classes``) or soft / one-hot labels (B, K).
        num_classes: number of classes K; None accepts soft labels of any width.
        saliency: non-negative maps (B, H, W) at the input resolution, for the mixers that
            take them.
        images: whether x must be a batch of images.
    """
    check_inputs(x, images=images)
    for name, value in (("y", y), ("saliency", saliency)):
        if value is not None and not isinstance(value, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    sizes = {"x": x.shape[0], "y": y.shape[0] if y.ndim else 0}
    if saliency is not None:
        check_saliency(saliency)
        sizes["saliency"] = saliency.shape[0]
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"batch sizes disagree: {sizes}; pass one label"
            f"{' and one saliency map' if saliency is not None else ''} per input."
        )
    if saliency is not None and saliency.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"saliency maps are {tuple(saliency.shape[-2:])} but images are "
            f"{tuple(x.shape[-2:])}; compute saliency at the input resolution."
        )
    return to_soft_labels(y, num_classes, torch.float32).to(x.device)


def check_num_classes(num_classes: int | None) -> None:
    """Constructor check shared by the mixers: None or a positive int."""
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
    ):
        raise ValueError(
            f"num_classes must be a positive int (or None to accept soft labels only), "
            f"got {num_classes!r}."
        )


Mixed = tuple[torch.Tensor, torch.Tensor]
"""What every mixer returns when called: mixed inputs (B, ...) and float32 soft labels (B, K)
on the inputs' device."""


class MixedBatch(NamedTuple):
    """What a mixer's ``mix`` returns: the mixed inputs and soft labels, and per output the
    share of its first (pairwise mixers) or largest (Co-Mixup) source, ``lam`` (B,), and, where
    a mixer draws on more than two inputs, how many inputs it uses, ``sources`` (B,)."""

    x_mixed: torch.Tensor
    y_soft: torch.Tensor
    lam: torch.Tensor
    sources: torch.Tensor | None = None


class SaliencyMixer:
    """Base of the saliency-guided mixers (Puzzle Mix, Co-Mixup): configured once with a
    ``config_class`` instance and ``num_classes``, then called on a batch,
    ``mixer(x, y, *, saliency, generator=None) -> (x_mixed, y_soft)``. A subclass implements
    ``mix(x, y_soft, saliency, *, generator)``, the mix of a checked batch (a result with
    ``x_mixed``, ``y_soft`` and ``lam``), and may extend :meth:`check`."""

    config_class: type

    def __init__(self, config: Any = None, *, num_classes: int | None = None) -> None:
        name = self.config_class.__name__
        if config is not None and not isinstance(config, self.config_class):
            raise ValueError(
                f"config must be a {name}, got {type(config).__name__}; build one with "
                f"{name}(...) or pass None for the official defaults."
            )
        check_num_classes(num_classes)
        self.config = config if config is not None else self.config_class()
        self.num_classes = num_classes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r}, num_classes={self.num_classes})"

    def __call__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        saliency: torch.Tensor,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> Mixed:
        """Mixed images (new, x untouched) and float32 soft labels (B, K) on ``x.device``;
        ``options`` go to :meth:`mix` (Co-Mixup: a compatibility matrix ``A``)."""
        y_soft = self.check(x, y, saliency)
        # Saliency is pooled and normalised by sums that overflow in 16 bits: float32 at least.
        saliency = saliency.to(torch.promote_types(saliency.dtype, torch.float32))
        result = self.mix(x, y_soft, saliency, generator=generator, **options)
        return result.x_mixed, result.y_soft

    def check(
        self, x: torch.Tensor, y: torch.Tensor, saliency: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Validate a batch of images (and saliency maps, when given); float32 soft labels on
        x's device."""
        return check_batch(x, y, num_classes=self.num_classes, saliency=saliency, images=True)
