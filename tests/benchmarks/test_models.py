"""The model zoo: shapes, Manifold Mixup's mixing stages, official sizes, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from baselines.manifold_mixup import MIXING_LAYER, HasMixingStages
from benchmarks.methods import get_method
from benchmarks.models import MODEL_NAMES, get_model

NUM_CLASSES = 7

# name, get_model keywords (narrow where allowed), input size, channels and side of the
# stage outputs after block 1 and after block 2.
SMALL = [
    ("preactresnet18", {"width": 8}, 32, ((8, 32), (16, 16))),
    ("preactresnet18", {"width": 8, "stride": 2}, 64, ((8, 32), (16, 16))),
    ("wrn16_8", {"width": 8}, 32, ((8, 32), (16, 16))),
    ("resnext29_4_24", {"width": 8}, 32, ((32, 32), (64, 16))),
    ("resnet50", {}, 64, ((256, 16), (512, 8))),
]
SMALL_IDS = [f"{name}-{size}px" for name, _, size, _ in SMALL]

# Full-size parameter counts for 100 classes. Each equals the count of the official
# snu-mllab/Co-Mixup models/*.py built with the same arguments (11.22M is what the official
# preresnet.py's __main__ prints); WRN-16-8 is the paper's 11.0M.
FULL_SIZE_PARAMETERS = {
    "preactresnet18": 11_217_316,
    "wrn16_8": 11_012_036,
    "resnext29_4_24": 4_937_252,
    "resnet50": 23_712_932,
}


def images(size: int, batch: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def model_feature_size(model: nn.Module) -> int:
    linear = [module for module in model.modules() if isinstance(module, nn.Linear)]
    assert len(linear) == 1
    return linear[0].in_features


SPEECH_MODELS = {"lenet", "vgg11"}
"""1-channel spectrogram models, covered in test_speech.py."""


def test_every_name_is_covered():
    assert {name for name, *_ in SMALL} | SPEECH_MODELS == set(MODEL_NAMES)
    assert set(FULL_SIZE_PARAMETERS) | SPEECH_MODELS == set(MODEL_NAMES)


@pytest.mark.parametrize(("name", "kwargs", "size", "hidden"), SMALL, ids=SMALL_IDS)
def test_stages_compose_to_forward_and_split_after_blocks_1_and_2(name, kwargs, size, hidden):
    torch.manual_seed(0)
    model = get_model(name, NUM_CLASSES, **kwargs)
    assert isinstance(model, HasMixingStages)
    model.eval()
    x = images(size)
    with torch.no_grad():
        logits = model(x)
        stages = list(model.mixing_stages())
        assert len(stages) == 3
        out = x
        shapes = []
        for stage in stages:
            out = stage(out)
            shapes.append(tuple(out.shape))
    assert logits.shape == (3, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(out, logits, rtol=0, atol=0)
    (c1, s1), (c2, s2) = hidden
    assert shapes[:2] == [(3, c1, s1, s1), (3, c2, s2, s2)]


@pytest.mark.parametrize(("name", "expected"), sorted(FULL_SIZE_PARAMETERS.items()))
def test_full_size_parameter_counts(name, expected):
    model = get_model(name, 100)
    assert count(model) == expected
    assert count(get_model(name, 10)) == expected - 90 * (model_feature_size(model) + 1)


def test_explicit_paper_width_is_the_default():
    assert (
        count(get_model("preactresnet18", 100, width=64)) == FULL_SIZE_PARAMETERS["preactresnet18"]
    )
    assert count(get_model("wrn16_8", 100, width=128)) == FULL_SIZE_PARAMETERS["wrn16_8"]
    assert (
        count(get_model("resnext29_4_24", 100, width=64)) == FULL_SIZE_PARAMETERS["resnext29_4_24"]
    )


def test_resnet50_is_torchvisions():
    ours = get_model("resnet50", 1000).state_dict()
    reference = torchvision.models.resnet50(weights=None).state_dict()
    assert ours.keys() == reference.keys()
    assert all(ours[key].shape == reference[key].shape for key in ours)
    assert sum(value.numel() for key, value in ours.items() if "running" not in key) > 25e6


def test_official_details():
    wrn = get_model("wrn16_8", 10, width=8)
    assert wrn.bn1.momentum == 0.9  # the official final BN's momentum
    assert all(conv.bias is not None for conv in wrn.modules() if isinstance(conv, nn.Conv2d))
    preact = get_model("preactresnet18", 10, width=8, stride=2)
    assert preact.conv1.stride == (2, 2) and preact.conv1.bias is None
    torch.manual_seed(0)
    resnext = get_model("resnext29_4_24", 10)
    conv = resnext.stage_3[0].conv_expand  # 1x1, 1024 outputs: normal(0, sqrt(2 / 1024))
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / 1024), rel=0.05)
    assert resnext.stage_1[0].conv_conv.groups == 4
    assert resnext.stage_1[0].conv_conv.out_channels == 4 * 24
    assert torch.all(resnext.classifier.bias == 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"name": "resnet18"}, "known models: preactresnet18, wrn16_8"),
        ({"name": "preactresnet18", "num_classes": 0}, "num_classes must be a positive"),
        ({"name": "preactresnet18", "width": 0}, "width must be a positive"),
        ({"name": "wrn16_8", "stride": 0}, "stride must be a positive"),
        ({"name": "wrn16_8", "width": 8.0}, "width must be a positive integer"),
        ({"name": "resnet50", "width": 16}, "resnet50 has torchvision's fixed widths"),
        ({"name": "resnext29_4_24", "width": 2}, "use width >= 3"),
    ],
)
def test_get_model_errors(call, message):
    call = {"num_classes": 10, **call}
    with pytest.raises(ValueError, match=message):
        get_model(call.pop("name"), call.pop("num_classes"), **call)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_manifold_mixup_trains_a_narrow_preactresnet18(layer):
    torch.manual_seed(0)
    model = get_model("preactresnet18", 10, width=8)
    x = images(32, batch=4)
    y = torch.tensor([0, 3, 3, 9])
    method = get_method("manifold_mixup", num_classes=10, layers=(layer,))
    loss, stats = method.loss(model, x, y, generator=torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert stats[MIXING_LAYER] == layer
    loss.backward()
    assert all(parameter.grad is not None for parameter in model.parameters())


def test_manifold_mixup_with_default_layers():
    torch.manual_seed(0)
    model = get_model("preactresnet18", 10, width=8)
    method = get_method("manifold_mixup", num_classes=10)
    y = torch.tensor([1, 2, 3, 4])
    loss, _ = method.loss(model, images(32, 4), y, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
