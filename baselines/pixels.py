"""Pixel scale: the inputs as the camera gave them, before the loaders' normalisation.

The runner feeds models standardised inputs, ``(pixels - mean) / std`` per channel. Some
baselines define a term on pixel values in [0, 1]: Puzzle Mix's data smoothness and its
adversarial noise (official ``mixup.py``: ``input1 * std + mean``; ``main.py``:
``adv_eps / 255.`` added to ``input * std + mean`` and clamped to [0, 1]), and VAT's radius
(see ``baselines/vat.py``). Those methods take the dataset's mean and std as config fields
(``data_mean``, ``data_std``); ``benchmarks.methods.get_method`` fills them from the dataset and
refuses to build such a method without them, so that no term silently runs at the wrong scale.
"""

from __future__ import annotations

import torch

PIXEL_LEVELS = 255.0
"""8-bit intensity levels: radii "in pixels" (Puzzle Mix's ``adv_eps``, VAT's epsilon in
Table 8) are counted in steps of 1/255 of the [0, 1] range."""


def _channel_view(values: tuple[float, ...], x: torch.Tensor, name: str) -> torch.Tensor:
    channels = x.shape[1]
    tensor = torch.tensor(values, dtype=x.dtype, device=x.device)
    if tensor.numel() not in (1, channels):
        raise ValueError(
            f"{name} must have 1 or {channels} entries (one per channel), got {tensor.numel()}."
        )
    return tensor.view(1, -1, *([1] * (x.ndim - 2)))


def to_pixels(
    x: torch.Tensor, mean: tuple[float, ...] | None, std: tuple[float, ...] | None
) -> torch.Tensor:
    """``x * std + mean`` per channel (B, C, ...); ``x`` itself when no normalisation."""
    if mean is None or std is None:
        return x
    return x * _channel_view(std, x, "data_std") + _channel_view(mean, x, "data_mean")


def from_pixels(
    pixels: torch.Tensor, mean: tuple[float, ...] | None, std: tuple[float, ...] | None
) -> torch.Tensor:
    """``(pixels - mean) / std`` per channel: the inverse of :func:`to_pixels`."""
    if mean is None or std is None:
        return pixels
    return (pixels - _channel_view(mean, pixels, "data_mean")) / _channel_view(
        std, pixels, "data_std"
    )


def pixel_std(x: torch.Tensor, std: tuple[float, ...] | None) -> torch.Tensor:
    """The per-channel std as a broadcastable tensor (1 without normalisation): a step of
    ``r`` in pixel scale is ``r / std`` in input scale."""
    if std is None:
        return torch.ones((), dtype=x.dtype, device=x.device)
    return _channel_view(std, x, "data_std")


def check_normalisation(mean: tuple[float, ...] | None, std: tuple[float, ...] | None) -> None:
    """Both or neither; finite means, positive finite stds."""
    if (mean is None) != (std is None):
        raise ValueError("give data_mean and data_std together, or neither.")
    if std is None or mean is None:
        return
    if not all(0 < s < float("inf") for s in std) or not all(abs(m) < float("inf") for m in mean):
        raise ValueError(
            f"data_std must be positive and finite and data_mean finite, got mean {mean}, "
            f"std {std}."
        )
