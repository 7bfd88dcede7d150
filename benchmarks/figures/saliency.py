"""The saliency maps the figures mix by: a trained run's input gradients, or, without a run,
a training-free saliency of the photo itself.

- ``model_saliency``: the suite's own saliency (``comixup.saliency``, what Co-Mixup and Puzzle
  Mix train with), ``sqrt(mean_c grad^2)`` of the cross-entropy gradient with respect to the
  input, from the checkpoint of an MLflow run. The photos are not the run's classes, so the
  gradient is taken at each input's predicted class; images are resized to the run's input
  size and normalised as its loaders do, and the maps resized back.
- ``spectral_residual``: Hou and Zhang, "Saliency Detection: A Spectral Residual Approach"
  (CVPR 2007). The log amplitude spectrum of the grey image at 64 px, less its 3x3 local
  mean, recombined with the phase; the squared inverse transform, blurred, marks what stands
  out of the image's own statistics. A network with random weights would give noise; this
  needs none and is deterministic.

Both return (B, H, W) non-negative maps at the images' resolution, scaled to a maximum of 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SPECTRAL_SIZE = 64
"""Side the spectral residual is computed at (Hou and Zhang's 64 px)."""
SPECTRAL_BLUR = 3.0
"""Standard deviation (pixels at 64 px) of the Gaussian that smooths the spectral saliency."""
GREY = (0.299, 0.587, 0.114)
"""ITU-R 601 luma weights."""


def _scale_to_unit(maps: torch.Tensor) -> torch.Tensor:
    peak = maps.flatten(1).amax(1).clamp_min(torch.finfo(maps.dtype).tiny)
    return maps / peak.view(-1, 1, 1)


def _gaussian_blur(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=maps.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    out = maps.unsqueeze(1)
    out = F.conv2d(F.pad(out, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    out = F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))
    return out.squeeze(1)


def spectral_residual(images: torch.Tensor) -> torch.Tensor:
    """Spectral-residual saliency of (B, 3, H, W) images in [0, 1]: (B, H, W) in [0, 1]."""
    grey = torch.einsum("bchw,c->bhw", images.float(), torch.tensor(GREY))
    small = F.interpolate(
        grey.unsqueeze(1), size=(SPECTRAL_SIZE, SPECTRAL_SIZE), mode="bilinear", antialias=True
    ).squeeze(1)
    spectrum = torch.fft.fft2(small)
    log_amplitude = torch.log(spectrum.abs().clamp_min(1e-8))
    local_mean = F.avg_pool2d(
        F.pad(log_amplitude.unsqueeze(1), (1, 1, 1, 1), mode="circular"), 3, stride=1
    ).squeeze(1)
    residual = torch.exp(torch.complex(log_amplitude - local_mean, spectrum.angle()))
    saliency = _gaussian_blur(torch.fft.ifft2(residual).abs().square(), SPECTRAL_BLUR)
    full = F.interpolate(saliency.unsqueeze(1), size=images.shape[-2:], mode="bilinear")
    return _scale_to_unit(full.squeeze(1).clamp_min(0))


def model_saliency(
    model: nn.Module,
    images: torch.Tensor,
    *,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Input-gradient saliency of ``model`` (eval mode) for (B, 3, H, W) images in [0, 1],
    at its predicted classes: (B, H, W) in [0, 1]."""
    from comixup.saliency import input_gradient_saliency

    inputs = F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True)
    inputs = (inputs - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    model.eval()
    with torch.no_grad():
        predicted = model(inputs).argmax(dim=1)
    saliency, _ = input_gradient_saliency(model, inputs, predicted)
    full = F.interpolate(saliency.unsqueeze(1), size=images.shape[-2:], mode="bilinear")
    return _scale_to_unit(full.squeeze(1).clamp_min(0))
