"""One call shape for every mixer: configured once, ``mixer(x, y, *, generator=None)``
(``saliency=`` for the saliency-guided ones) -> ``(x_mixed, y_soft)``."""

from __future__ import annotations

import pytest
import torch

from baselines.cutmix import CutMix, cutmix
from baselines.input_mixup import InputMixup, input_mixup
from baselines.puzzle_mix import PuzzleMix, PuzzleMixConfig, puzzle_mix
from comixup import CoMixup, CoMixupConfig, co_mixup

NUM_CLASSES = 6
BATCH = 7


def batch(dtype: torch.dtype = torch.float32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(BATCH, 3, 16, 16, generator=g).to(dtype)
    y = torch.randint(0, NUM_CLASSES, (BATCH,), generator=g)
    saliency = torch.rand(BATCH, 16, 16, generator=g).to(dtype) ** 4
    return x, y, saliency


MIXERS = {
    "input_mixup": (lambda: InputMixup(alpha=1.0, num_classes=NUM_CLASSES), False),
    "cutmix": (lambda: CutMix(alpha=1.0, num_classes=NUM_CLASSES), False),
    "puzzle_mix": (lambda: PuzzleMix(PuzzleMixConfig(), num_classes=NUM_CLASSES), True),
    "co_mixup": (lambda: CoMixup(CoMixupConfig(partition_size=4), num_classes=NUM_CLASSES), True),
}


def call(name: str, x, y, saliency, seed: int = 0):
    make, needs_saliency = MIXERS[name]
    extra = {"saliency": saliency} if needs_saliency else {}
    return make()(x, y, generator=torch.Generator().manual_seed(seed), **extra)


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_mixer_returns_float32_soft_labels_and_leaves_x_alone(name, dtype):
    x, y, saliency = batch(dtype)
    x_before = x.clone()
    x_mixed, y_soft = call(name, x, y, saliency)
    assert torch.equal(x, x_before)
    assert x_mixed.shape == x.shape and x_mixed.dtype == x.dtype
    assert x_mixed.data_ptr() != x.data_ptr()
    assert y_soft.shape == (BATCH, NUM_CLASSES)
    assert y_soft.dtype == torch.float32 and y_soft.device == x.device
    torch.testing.assert_close(y_soft.sum(1), torch.ones(BATCH))
    assert (y_soft >= 0).all()


@pytest.mark.parametrize("name", MIXERS)
def test_every_mixer_takes_the_same_labels_and_is_seeded(name):
    x, y, saliency = batch()
    one_hot = torch.nn.functional.one_hot(y, NUM_CLASSES).float()
    first = call(name, x, y, saliency, seed=3)
    again = call(name, x, one_hot, saliency, seed=3)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", MIXERS)
def test_every_mixer_takes_its_batch_keywords_only(name):
    make, needs_saliency = MIXERS[name]
    x, y, saliency = batch()
    mixer = make()
    with pytest.raises(TypeError):
        if needs_saliency:
            mixer(x, y, saliency, torch.Generator())
        else:
            mixer(x, y, torch.Generator())


@pytest.mark.parametrize("name", MIXERS)
def test_every_mixer_checks_its_batch_the_same_way(name):
    x, y, saliency = batch()
    with pytest.raises(ValueError, match="batch sizes disagree"):
        call(name, x, y[:-1], saliency)
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 6\)"):
        call(name, x, torch.full_like(y, NUM_CLASSES), saliency)
    with pytest.raises(ValueError, match="x must be a floating-point tensor"):
        call(name, (x * 255).to(torch.uint8), y, saliency)
    with pytest.raises(ValueError, match="batch is empty"):
        call(name, x[:0], y[:0], saliency[:0])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: InputMixup(alpha=0.0), "alpha must be a positive number"),
        (lambda: InputMixup(alpha=float("inf")), "alpha must be a positive number"),
        (lambda: CutMix(alpha=-1.0), "alpha must be a positive number"),
        (lambda: CutMix(per_sample="yes"), "per_sample must be True or False"),
        (lambda: InputMixup(num_classes=0), "num_classes must be a positive int"),
        (lambda: CutMix(num_classes=2.5), "num_classes must be a positive int"),
        (lambda: PuzzleMix(num_classes=True), "num_classes must be a positive int"),
        (lambda: PuzzleMix(CoMixupConfig()), "config must be a PuzzleMixConfig"),
        (lambda: CoMixup(PuzzleMixConfig()), "config must be a CoMixupConfig"),
        (lambda: CoMixup({"beta": 0.3}), "config must be a CoMixupConfig"),
    ],
)
def test_constructors_validate_their_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_constructor_settings_are_keyword_only():
    with pytest.raises(TypeError):
        InputMixup(1.0)
    with pytest.raises(TypeError):
        CutMix(1.0, NUM_CLASSES)
    with pytest.raises(TypeError):
        CoMixup(CoMixupConfig(), NUM_CLASSES)
    with pytest.raises(TypeError):
        PuzzleMix(PuzzleMixConfig(), NUM_CLASSES)


def test_defaults_and_repr():
    assert InputMixup().config.alpha == 1.0 and CutMix().config.per_sample is False
    assert PuzzleMix().config == PuzzleMixConfig() and CoMixup().config == CoMixupConfig()
    assert repr(CutMix(alpha=0.2, num_classes=3)) == (
        "CutMix(alpha=0.2, num_classes=3, per_sample=False)"
    )
    assert repr(CoMixup(num_classes=3)).startswith("CoMixup(CoMixupConfig(")


@pytest.mark.parametrize("per_sample", [False, True])
def test_the_functions_are_the_classes(per_sample):
    x, y, saliency = batch()

    def g():
        return torch.Generator().manual_seed(5)

    settings = {"alpha": 0.7, "num_classes": NUM_CLASSES, "per_sample": per_sample}
    pairs = [
        (input_mixup(x, y, generator=g(), **settings), InputMixup(**settings)(x, y, generator=g())),
        (cutmix(x, y, generator=g(), **settings), CutMix(**settings)(x, y, generator=g())),
    ]
    puzzle_config = PuzzleMixConfig(per_sample_lambda=per_sample)
    puzzle = PuzzleMix(puzzle_config, num_classes=NUM_CLASSES)
    pairs.append(
        (
            puzzle_mix(x, y, saliency, puzzle_config, num_classes=NUM_CLASSES, generator=g()),
            puzzle(x, y, saliency=saliency, generator=g()),
        )
    )
    co_config = CoMixupConfig(partition_size=4)
    A = torch.eye(BATCH)
    pairs.append(
        (
            co_mixup(x, y, saliency, co_config, A, g(), num_classes=NUM_CLASSES),
            CoMixup(co_config, num_classes=NUM_CLASSES)(
                x, y, saliency=saliency, generator=g(), A=A
            ),
        )
    )
    for function_result, class_result in pairs:
        for a, b in zip(function_result, class_result, strict=True):
            assert torch.equal(a, b)
