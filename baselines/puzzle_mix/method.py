"""Puzzle Mix's training step behind the Method protocol."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Generator, Tensor, nn

from baselines.puzzle_mix.adversarial import AdversarialNoise, attack, draw_sides, random_start
from baselines.puzzle_mix.config import PuzzleMixConfig
from baselines.puzzle_mix.mixer import PuzzleMix
from comixup.method import GradScale, SaliencyMixerMethod, SaliencyPass, saliency_guided_loss


@dataclass
class PuzzleMixMethod(SaliencyMixerMethod):
    """Puzzle Mix's training step (official ``main.py`` ``train`` with ``--graph True``): the
    saliency-guided step with :class:`PuzzleMix`, i.e. graph cut, transport and mixing of the
    batch with its permutation; with ``config.adv_p`` > 0 the adversarial step of
    ``baselines/puzzle_mix/adversarial.py``."""

    mixer_class = PuzzleMix
    num_classes: int
    config: PuzzleMixConfig = field(default_factory=PuzzleMixConfig)

    def mixed_loss(
        self,
        model: nn.Module,
        x: Tensor,
        y_soft: Tensor,
        generator: Generator | None,
        grad_scale: GradScale | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        inputs, partners = draw_sides(self.config, generator)
        if not (inputs or partners):
            return super().mixed_loss(model, x, y_soft, generator, grad_scale)
        start, x_noisy = random_start(x, self.config, generator)
        mixer = self.mixer

        def mix(clean: SaliencyPass):
            noise = attack(start, clean.input_grad, self.config, generator)
            adversarial = AdversarialNoise(noise, inputs, partners)
            mixed = mixer.mix(
                x, y_soft, clean.saliency.detach(), generator=generator, adversarial=adversarial
            )
            return mixed.x_mixed, mixed.y_soft, self.mix_stats(mixed)

        clean_weight = 2 * self.config.clean_lam / self.num_classes
        return saliency_guided_loss(
            model,
            x,
            y_soft,
            clean_weight=clean_weight,
            mix=mix,
            clean_input=x_noisy,
            grad_scale=grad_scale,
        )
