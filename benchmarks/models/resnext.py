"""ResNeXt-29 (4x24d) (Xie et al., "Aggregated Residual Transformations for Deep Neural
Networks", CVPR 2017), in the CIFAR form used by Puzzle Mix and Co-Mixup.

Follows the official ``models/resnext.py`` of snu-mllab/Co-Mixup (``resnext29_4_24``, the
``CifarResNeXt`` of D-X-Y's ResNeXt-DenseNet port): a 3x3 stem conv to 64 channels with
BN-ReLU, three stages of (depth - 2) / 9 = 3 post-activation bottleneck blocks (type C: 1x1
reduce, grouped 3x3 with ``cardinality`` groups, 1x1 expand to 4 * planes) with planes 64, 128,
256 and inner width ``cardinality * floor(planes * base_width / 64)``, average pooling and a
linear classifier. Shortcuts are identity or 1x1 conv + BN. Dropout (off in the official runs)
is not built.

Initialisation as the official code: convolutions ``normal(0, sqrt(2 / (k * k * out)))``
(Kaiming normal, fan-out), BN weight 1 and bias 0, the linear layer Kaiming normal (fan-in)
with zero bias.

``stride``: the official constructor accepts and ignores a stride (its stem always has
stride 1); here it is the stem conv's stride, default 1 as the official. The official code
pools with a fixed 8x8 window; the adaptive pool here is the same at 32x32 with stride 1.
Parameter names match the official ones.

Mixing stages (Manifold Mixup): ``[stem + stage_1, stage_2, stage_3 + head]`` (after block 1,
after block 2, as for the suite's other CIFAR nets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

EXPANSION = 4
"""Output channels of a bottleneck block per ``planes``."""


class ResNeXtBottleneck(nn.Module):
    """1x1 reduce - grouped 3x3 (stride) - 1x1 expand, BN after each, ReLU after the sum."""

    def __init__(
        self,
        in_planes: int,
        planes: int,
        *,
        cardinality: int,
        base_width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        inner = cardinality * math.floor(planes * base_width / 64)
        self.conv_reduce = nn.Conv2d(in_planes, inner, 1, bias=False)
        self.bn_reduce = nn.BatchNorm2d(inner)
        self.conv_conv = nn.Conv2d(
            inner, inner, 3, stride=stride, padding=1, groups=cardinality, bias=False
        )
        self.bn = nn.BatchNorm2d(inner)
        self.conv_expand = nn.Conv2d(inner, EXPANSION * planes, 1, bias=False)
        self.bn_expand = nn.BatchNorm2d(EXPANSION * planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn_reduce(self.conv_reduce(x)))
        out = F.relu(self.bn(self.conv_conv(out)))
        out = self.bn_expand(self.conv_expand(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(residual + out)


class CifarResNeXt(nn.Module):
    """ResNeXt of depth 9n + 2 with stage planes ``width * (1, 2, 4)``.

    Args:
        num_classes: size of the classifier's output.
        depth: 9n + 2 (29 for ResNeXt-29).
        cardinality: groups of the 3x3 convolutions (4).
        base_width: channels per group at planes = 64 (24).
        width: the stem's channel count and stage 1's ``planes`` (64 in the paper; stage
            outputs are 4x planes). Needs ``width * base_width >= 64`` so every group keeps a
            channel.
        stride: the stem convolution's stride (1, as the official).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        depth: int = 29,
        cardinality: int = 4,
        base_width: int = 24,
        width: int = 64,
        stride: int = 1,
    ) -> None:
        super().__init__()
        if (depth - 2) % 9 != 0 or depth < 11:
            raise ValueError(f"ResNeXt depth must be 9n + 2 with n >= 1 (e.g. 29), got {depth}.")
        if width * base_width < 64:
            raise ValueError(
                f"width {width} leaves no channel per group at base width {base_width}; use "
                f"width >= {math.ceil(64 / base_width)}."
            )
        blocks = (depth - 2) // 9
        self.num_classes = num_classes
        self.cardinality = cardinality
        self.base_width = base_width
        self.conv_1_3x3 = nn.Conv2d(3, width, 3, stride=stride, padding=1, bias=False)
        self.bn_1 = nn.BatchNorm2d(width)
        self._in_planes = width
        self.stage_1 = self._make_stage(width, blocks, stride=1)
        self.stage_2 = self._make_stage(2 * width, blocks, stride=2)
        self.stage_3 = self._make_stage(4 * width, blocks, stride=2)
        self.classifier = nn.Linear(EXPANSION * 4 * width, num_classes)
        self._initialise()

    def _make_stage(self, planes: int, blocks: int, *, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._in_planes != EXPANSION * planes:
            downsample = nn.Sequential(
                nn.Conv2d(self._in_planes, EXPANSION * planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(EXPANSION * planes),
            )
        settings = {"cardinality": self.cardinality, "base_width": self.base_width}
        layers = [
            ResNeXtBottleneck(
                self._in_planes, planes, stride=stride, downsample=downsample, **settings
            )
        ]
        self._in_planes = EXPANSION * planes
        layers += [
            ResNeXtBottleneck(self._in_planes, planes, **settings) for _ in range(blocks - 1)
        ]
        return nn.Sequential(*layers)

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage_1(F.relu(self.bn_1(self.conv_1_3x3(x))))

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.stage_3(x), 1).flatten(1))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional features (B, 16w, h, w'), which ``forward`` averages over
        space and feeds to ``classifier`` (class activation maps read them)."""
        return self.stage_3(self.stage_2(self._embed(x)))

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        """``[stem + stage_1, stage_2, stage_3 + head]``; their composition is forward."""
        return (self._embed, self.stage_2, self._classify)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._classify(self.stage_2(self._embed(x)))
