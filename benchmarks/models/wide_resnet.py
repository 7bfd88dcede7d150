"""Wide ResNet-16-8 (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016), in the form
used by Puzzle Mix and Co-Mixup.

Follows the official ``models/wide_resnet.py`` of snu-mllab/PuzzleMix and snu-mllab/Co-Mixup
(itself derived from meliketoy's wide-resnet.pytorch, dropout removed): a 3x3 stem to 16
channels, three stages of (depth - 4) / 6 = 2 pre-activation blocks with widths 16k, 32k, 64k
(k = 8), a final BN-ReLU, average pooling and a linear classifier. Details kept from the
official code:

- every convolution has a bias; the block puts its stride on the second 3x3 conv, and its
  shortcut (identity, or a 1x1 conv with bias when the shape changes) reads the block's raw
  input, not the pre-activated one;
- the final BN is built with ``momentum=0.9`` (PyTorch's convention: its running statistics
  follow the latest batches almost entirely);
- no explicit initialisation: the official file defines ``conv_init`` but never applies it,
  so PyTorch's defaults are in effect.

The official code pools with a fixed 8x8 window; the adaptive pool here is the same at 32x32
with stride 1 and also accepts other sizes. Parameter names match the official ones.

Mixing stages (Manifold Mixup): ``[stem + layer1, layer2, layer3 + head]``, the official
``forward(mixup_hidden=True)``'s mixing points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

FINAL_BN_MOMENTUM = 0.9
"""The official ``nn.BatchNorm2d(nStages[3], momentum=0.9)`` before the pool."""


class WideBasic(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3(stride) plus a shortcut from the raw input."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + self.shortcut(x)


class WideResNet(nn.Module):
    """Wide ResNet of depth 6n + 4 with stage widths ``width * (1, 2, 4)``.

    Args:
        num_classes: size of the classifier's output.
        depth: 6n + 4 (16 for WRN-16-8).
        width: layer1's channel count, 16 * widen factor (128 for WRN-16-8); the stem keeps
            its 16 channels whatever the width, so ``width=16 * k`` is exactly WRN-depth-k.
        stride: the stem convolution's stride (official: 1 on CIFAR).
    """

    def __init__(
        self, num_classes: int, *, depth: int = 16, width: int = 128, stride: int = 1
    ) -> None:
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"Wide ResNet depth must be 6n + 4 with n >= 1, got {depth}.")
        blocks = (depth - 4) // 6
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, 16, 3, stride=stride, padding=1, bias=True)
        self.layer1 = _stage(16, width, blocks, stride=1)
        self.layer2 = _stage(width, 2 * width, blocks, stride=2)
        self.layer3 = _stage(2 * width, 4 * width, blocks, stride=2)
        self.bn1 = nn.BatchNorm2d(4 * width, momentum=FINAL_BN_MOMENTUM)
        self.linear = nn.Linear(4 * width, num_classes)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer1(self.conv1(x))

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(F.adaptive_avg_pool2d(self._top(x), 1).flatten(1))

    def _top(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.layer3(x)))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional features after the final BN-ReLU (B, 4w, h, w'), which
        ``forward`` averages over space and feeds to ``linear`` (class activation maps)."""
        return self._top(self.layer2(self._embed(x)))

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        """``[stem + layer1, layer2, layer3 + head]``; their composition is forward."""
        return (self._embed, self.layer2, self._classify)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._classify(self.layer2(self._embed(x)))


def _stage(in_planes: int, planes: int, blocks: int, *, stride: int) -> nn.Sequential:
    layers = [WideBasic(in_planes, planes, stride)]
    layers += [WideBasic(planes, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
