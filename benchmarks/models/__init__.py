"""The model zoo: the architectures of the paper's experiments, by name.

``get_model(name, num_classes, width=..., stride=...)`` builds a randomly initialised model
(nothing is downloaded). Every model declares Manifold Mixup's mixing stages
(``baselines.manifold_mixup``): ``mixing_stages()`` returns three callables whose composition
is ``forward``, split after the first and second residual stage (conv block for the speech
nets), as the official ``mixup_hidden`` forward of Puzzle Mix / Co-Mixup.

=================  ==========================================  =================================
name               architecture (source)                       ``width`` (None = paper width)
=================  ==========================================  =================================
preactresnet18     PreAct ResNet-18, CIFAR/Tiny stem            stem and layer1 channels, 64;
                   (official ``models/preresnet.py``)           stages w, 2w, 4w, 8w
wrn16_8            Wide ResNet-16-8, no dropout                 layer1 channels, 16 * 8 = 128;
                   (official ``models/wide_resnet.py``)         stages w, 2w, 4w, stem stays 16
resnext29_4_24     ResNeXt-29, cardinality 4, base width 24     stem channels and stage-1 planes,
                   (official ``models/resnext.py``)             64; planes w, 2w, 4w, inner
                                                                width 4 * floor(planes * 24 / 64)
resnet50           torchvision ResNet-50, ImageNet stem         fixed: must be None
lenet              LeNet for 1x160x100 spectrograms             conv channels, 20
                   (GCommandsPytorch ``model.py``, ``speech.py``)
vgg11              VGG-11 with batch norm, 1 input channel      first stage, 64; stages w, 2w,
                   (GCommandsPytorch ``model.py``, ``speech.py``) 4w, 4w, 8w x 4
=================  ==========================================  =================================

``stride`` is the first convolution's stride: 1 for CIFAR 32x32, 2 for Tiny-ImageNet 64x64
(the official ``main.py``); ResNet-50 ignores it (its ImageNet stem has stride 2 and a max
pool), and so do the speech nets (they keep the reference's strides). All CIFAR nets and the
speech nets pool adaptively, so they match the official fixed-window pools (fixed linear
layers) at their natural input sizes and accept others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from benchmarks.models.preactresnet import PreActResNet18
    from benchmarks.models.resnet50 import ResNet50
    from benchmarks.models.resnext import CifarResNeXt
    from benchmarks.models.speech import VGG11, LeNet
    from benchmarks.models.wide_resnet import WideResNet

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "VGG11",
    "CifarResNeXt",
    "LeNet",
    "PreActResNet18",
    "ResNet50",
    "WideResNet",
    "get_model",
]

_CLASSES = {
    "PreActResNet18": "benchmarks.models.preactresnet",
    "ResNet50": "benchmarks.models.resnet50",
    "CifarResNeXt": "benchmarks.models.resnext",
    "LeNet": "benchmarks.models.speech",
    "VGG11": "benchmarks.models.speech",
    "WideResNet": "benchmarks.models.wide_resnet",
}
"""The model classes this package exports, by the module that defines them."""


def __getattr__(name: str) -> Any:
    """``from benchmarks.models import PreActResNet18`` imports the class's module (and torch)
    then, not when the registry is read."""
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _preactresnet18(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.preactresnet import PreActResNet18

    return PreActResNet18(num_classes, width=64 if width is None else width, stride=stride)


def _wrn16_8(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.wide_resnet import WideResNet

    return WideResNet(
        num_classes, depth=16, width=16 * 8 if width is None else width, stride=stride
    )


def _resnext29_4_24(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.resnext import CifarResNeXt

    return CifarResNeXt(
        num_classes,
        depth=29,
        cardinality=4,
        base_width=24,
        width=64 if width is None else width,
        stride=stride,
    )


def _resnet50(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.resnet50 import ResNet50

    if width is not None:
        raise ValueError(
            f"resnet50 has torchvision's fixed widths; got width={width}, pass width=None (or "
            "use preactresnet18 with a small width for a narrow smoke run)."
        )
    return ResNet50(num_classes)


def _lenet(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.speech import LeNet

    del stride  # the reference's strides
    return LeNet(num_classes, width=20 if width is None else width)


def _vgg11(num_classes: int, width: int | None, stride: int) -> nn.Module:
    from benchmarks.models.speech import VGG11

    del stride
    return VGG11(num_classes, width=64 if width is None else width)


MODELS: dict[str, Callable[[int, int | None, int], nn.Module]] = {
    "preactresnet18": _preactresnet18,
    "wrn16_8": _wrn16_8,
    "resnext29_4_24": _resnext29_4_24,
    "resnet50": _resnet50,
    "lenet": _lenet,
    "vgg11": _vgg11,
}
"""The model registry: name -> ``build(num_classes, width, stride)``, which imports its model's
module (and so torch) when called, so that naming the models (the command line's choices)
imports no torch. A new model is one module and one builder here."""
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
"""The registered models, in the registry's order."""
SPECTROGRAM_MODELS = ("lenet", "vgg11")
"""The speech nets: one-channel spectrograms in; every other model takes RGB images."""


def check_model_fits(name: str, channels: int, dataset: str) -> None:
    """A ValueError when model ``name`` cannot take ``dataset``'s inputs (``channels``)."""
    takes = 1 if name in SPECTROGRAM_MODELS else 3
    if channels != takes:
        fitting = (
            SPECTROGRAM_MODELS
            if channels == 1
            else tuple(model for model in MODELS if model not in SPECTROGRAM_MODELS)
        )
        raise ValueError(
            f"model {name!r} takes {takes}-channel inputs but dataset {dataset!r} has "
            f"{channels}; use --model with one of {', '.join(fitting)}."
        )


def get_model(
    name: str, num_classes: int, *, width: int | None = None, stride: int = 1
) -> nn.Module:
    """Build model ``name`` with ``num_classes`` outputs, randomly initialised as officially.

    Args:
        name: one of ``MODEL_NAMES``.
        num_classes: size of the classifier's output (at least 1).
        width: the first stage's channel count (see the module table); None for the paper's.
        stride: the first convolution's stride (1 for 32x32 inputs, 2 for 64x64 Tiny-ImageNet);
            ignored by resnet50, lenet and vgg11.

    Raises:
        ValueError: for an unknown name (listing ``MODEL_NAMES``), a non-positive
            ``num_classes``, ``width`` or ``stride``, or a width the model cannot take.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}.")
    for label, value in (("num_classes", num_classes), ("stride", stride), ("width", width)):
        if value is None and label == "width":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}.")
    return MODELS[name](num_classes, width, stride)
