"""Pairing of each input with a partner from a random permutation, shared by the pairwise
mixers (Input Mixup, Manifold Mixup, CutMix): draw the permutation and the mixing ratio
lambda, then mix labels. The draws are apart from their application (torchvision v2's
``make_params`` / ``transform`` split), so a mixer is a deterministic function of them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from comixup.method import sample_beta


@dataclass(frozen=True)
class Pairing:
    """Output i mixes input i (weight ``lam[i]``) with input ``permutation[i]``."""

    permutation: torch.Tensor  # (B,) long, on CPU
    lam: torch.Tensor  # (B,) float32, on CPU


def draw_pairing(
    batch_size: int, alpha: float, *, per_sample: bool, generator: torch.Generator | None
) -> Pairing:
    """A random permutation and lambda ~ Beta(alpha, alpha): one per batch (the papers'
    default) or one per sample."""
    if batch_size < 1:
        raise ValueError("the batch is empty; mixing needs at least one input.")
    permutation = torch.randperm(batch_size, generator=generator)
    draws = sample_beta(alpha, batch_size if per_sample else 1, generator)
    return Pairing(permutation, draws.expand(batch_size).clone())


def mix_pair_labels(y_soft: torch.Tensor, pairing: Pairing, lam: torch.Tensor) -> torch.Tensor:
    """``lam * y + (1 - lam) * y[permutation]`` for (B, K) soft labels and a (B,) lam."""
    lam = lam.to(y_soft.device, y_soft.dtype).unsqueeze(1)
    partner = y_soft[pairing.permutation.to(y_soft.device)]
    return lam * y_soft + (1 - lam) * partner


def mix_pair_tensors(h: torch.Tensor, pairing: Pairing) -> torch.Tensor:
    """``lam * h + (1 - lam) * h[permutation]`` for any (B, ...) tensor, as a new tensor."""
    lam = pairing.lam.to(h.device, h.dtype).view(-1, *([1] * (h.ndim - 1)))
    return lam * h + (1 - lam) * h[pairing.permutation.to(h.device)]
