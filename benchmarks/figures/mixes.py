"""The figure batch through every mixer, with each output's share of each input.

Every mixer is called as in training, its draws from a generator seeded with the figure's
seed (each mixer its own, so that adding one changes no other). The labels given to the
mixers are the inputs' own identities (input i is class i of B), so that each soft label the
mixer returns *is* that output's share of every input: ``shares[j, i]`` is output j's weight on
input i, rows summing to 1, taken from the mixer's own labels. Co-Mixup's shares come from its
labeling (``CoMixup.mix_with_shares``); the tests check they equal its soft labels.

Manifold Mixup mixes hidden states at a layer drawn from {input, block 1, block 2}; only its
input-level draw (k = 0) is a picture, the convex blend of Input Mixup with Manifold Mixup's
own alpha (2.0), which is what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from baselines.cutmix import CutMix, CutMixConfig
from baselines.input_mixup import InputMixup, InputMixupConfig
from baselines.manifold_mixup import ManifoldMixupConfig
from baselines.pairs import draw_pairing, mix_pair_labels, mix_pair_tensors
from baselines.puzzle_mix import PuzzleMix, PuzzleMixConfig
from comixup.config import CoMixupConfig
from comixup.mixing import CoMixup

TAU_LARGE = 0.99
"""Co-Mixup's larger tau of Figure 9 (the default is 0.83): see ``benchmarks/figures``."""

PUZZLE_MIX = PuzzleMixConfig(t_size=None)
"""Puzzle Mix's official settings, transporting at the graph cut's own block size, as its
README's Tiny-ImageNet command does (the CIFAR-100 t_size of 4 px is meant for 32-px images)."""


@dataclass(frozen=True)
class Mix:
    """One mixer's outputs for the batch: images (B, 3, H, W), each output's share of each
    input (B, B), the mixer's name, a key for metric names and the settings a caption
    should name."""

    name: str
    key: str
    images: torch.Tensor
    shares: torch.Tensor
    settings: str

    @property
    def sources(self) -> torch.Tensor:
        """Inputs per output, (B,) long."""
        return (self.shares > 0).sum(dim=1)


def _generator(seed: int, offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1000 + offset)


def comixup_mix(
    images: torch.Tensor, saliency: torch.Tensor, *, tau: float, seed: int, key: str = "comixup"
) -> Mix:
    """Co-Mixup with the paper's settings but ``tau``, the whole batch as one partition (as
    the paper's figures: 24 inputs, 24 outputs)."""
    batch = images.shape[0]
    config = replace(CoMixupConfig(), tau=tau, partition_size=batch)
    mixer = CoMixup(config, num_classes=batch)
    mixed, _, shares = mixer.mix_with_shares(
        images, torch.arange(batch), saliency=saliency, generator=_generator(seed, 0)
    )
    return Mix(f"Co-Mixup (tau {tau:g})", key, mixed, shares, f"tau {tau:g}, m = m' = {batch}")


def pairwise_mixes(images: torch.Tensor, saliency: torch.Tensor, *, seed: int) -> list[Mix]:
    """Input Mixup, Manifold Mixup at the input, CutMix and Puzzle Mix of the batch."""
    batch = images.shape[0]
    identity = torch.arange(batch)
    mixes = []
    alpha = InputMixupConfig().alpha
    x, y = InputMixup(alpha=alpha, num_classes=batch)(
        images, identity, generator=_generator(seed, 1)
    )
    mixes.append(Mix("Input Mixup", "input_mixup", x, y, f"alpha {alpha:g}"))

    alpha = ManifoldMixupConfig().alpha
    pairing = draw_pairing(batch, alpha, per_sample=False, generator=_generator(seed, 2))
    one_hot = torch.eye(batch)
    shares = mix_pair_labels(one_hot, pairing, pairing.lam)
    mixes.append(
        Mix(
            "Manifold Mixup (k = 0)",
            "manifold_mixup_input",
            mix_pair_tensors(images, pairing),
            shares,
            f"alpha {alpha:g}",
        )
    )

    alpha = CutMixConfig().alpha
    x, y = CutMix(alpha=alpha, num_classes=batch)(images, identity, generator=_generator(seed, 3))
    mixes.append(Mix("CutMix", "cutmix", x, y, f"alpha {alpha:g}"))

    mixer = PuzzleMix(PUZZLE_MIX, num_classes=batch)
    x, y = mixer(images, identity, saliency=saliency, generator=_generator(seed, 4))
    mixes.append(
        Mix(
            "Puzzle Mix", "puzzle_mix", x, y, f"alpha {PUZZLE_MIX.alpha:g}, transport at block size"
        )
    )
    return mixes
