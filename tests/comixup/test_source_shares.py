"""Each Co-Mixup output's share of each input (``CoMixup.mix_with_shares``): the same mix as
calling the mixer, shares that are distributions over the output's own partition, and equal
to the soft label's weights when every input has a class of its own."""

from __future__ import annotations

import torch

from comixup.config import CoMixupConfig
from comixup.mixing import CoMixup


def _batch(batch_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch_size, 3, 16, 16, generator=generator)
    saliency = torch.rand(batch_size, 16, 16, generator=generator)
    return x, saliency


def test_mix_with_shares_returns_what_the_mixer_returns():
    x, saliency = _batch(7)
    y = torch.arange(7) % 3
    mixer = CoMixup(CoMixupConfig(partition_size=4), num_classes=3)
    expected = mixer(x, y, saliency=saliency, generator=torch.Generator().manual_seed(5))
    x_mixed, y_soft, _ = mixer.mix_with_shares(
        x, y, saliency=saliency, generator=torch.Generator().manual_seed(5)
    )
    assert torch.equal(x_mixed, expected[0])
    assert torch.equal(y_soft, expected[1])


def test_shares_are_distributions_within_each_partition():
    x, saliency = _batch(7)
    mixer = CoMixup(CoMixupConfig(partition_size=4), num_classes=7)
    _, _, shares = mixer.mix_with_shares(
        x, torch.arange(7), saliency=saliency, generator=torch.Generator().manual_seed(1)
    )
    assert shares.shape == (7, 7)
    torch.testing.assert_close(shares.sum(dim=1), torch.ones(7))
    assert (shares >= 0).all()
    # Outputs 0-3 draw on inputs 0-3 only, outputs 4-6 on inputs 4-6 only.
    assert shares[:4, 4:].abs().sum() == 0
    assert shares[4:, :4].abs().sum() == 0
    # Shares are multiples of a half block (|L| = 3: weights 1 and 1/2 on a 4x4 grid).
    torch.testing.assert_close(shares * 32, (shares * 32).round())


def test_shares_equal_the_soft_labels_of_one_class_per_input():
    x, saliency = _batch(10, seed=3)
    mixer = CoMixup(CoMixupConfig(partition_size=10), num_classes=10)
    _, y_soft, shares = mixer.mix_with_shares(
        x, torch.arange(10), saliency=saliency, generator=torch.Generator().manual_seed(2)
    )
    torch.testing.assert_close(shares, y_soft)
    # and the soft labels of any other labels are those shares applied to them
    y = torch.tensor([0, 1, 1, 2, 0, 2, 2, 1, 0, 0])
    three_classes = CoMixup(CoMixupConfig(partition_size=10), num_classes=3)
    _, y_other, _ = three_classes.mix_with_shares(
        x, y, saliency=saliency, generator=torch.Generator().manual_seed(2)
    )
    torch.testing.assert_close(y_other, shares @ torch.nn.functional.one_hot(y, 3).float())
