"""Puzzle Mix's training step behind the Method protocol."""

from __future__ import annotations

from dataclasses import dataclass, field

from baselines.puzzle_mix.config import PuzzleMixConfig
from baselines.puzzle_mix.mixer import PuzzleMix
from comixup.method import SaliencyMixerMethod


@dataclass
class PuzzleMixMethod(SaliencyMixerMethod):
    """Puzzle Mix's training step (official ``main.py`` ``train`` with ``--graph True``): the
    saliency-guided step with :class:`PuzzleMix`, i.e. graph cut, transport and mixing of the
    batch with its permutation."""

    mixer_class = PuzzleMix
    num_classes: int
    config: PuzzleMixConfig = field(default_factory=PuzzleMixConfig)
