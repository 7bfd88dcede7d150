"""PreAct ResNet-18 (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016), in
the CIFAR / Tiny-ImageNet form used by Puzzle Mix and Co-Mixup.

Follows the official ``models/preresnet.py`` of snu-mllab/PuzzleMix and snu-mllab/Co-Mixup:
a 3x3 stem convolution (no BN after it; ``stride`` 1 for CIFAR 32x32, 2 for Tiny-ImageNet
64x64), four stages of two pre-activation basic blocks with widths w, 2w, 4w, 8w
(``initial_channels`` w = 64), then average pooling and a linear classifier. As in the official
code there is no BN-ReLU after the last block, and no explicit initialisation (PyTorch's
defaults). The official code pools with a fixed 4x4 window; the adaptive pool here gives the
same result at the natural sizes (layer4 is 4x4 for 32x32 with stride 1 and 64x64 with
stride 2) and also accepts other sizes. Parameter names match the official ones, so official
checkpoints load.

Mixing stages (Manifold Mixup): ``[stem + layer1, layer2, layer3 + layer4 + head]``, the
official ``forward(mixup_hidden=True)``'s mixing points (k = 1 after layer1, k = 2 after
layer2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class PreActBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus a shortcut.

    A projection shortcut (1x1 conv, no bias) is used when the shape changes; it reads the
    pre-activated input, as in the official code.
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """PreAct ResNet-18 with stage widths ``width * (1, 2, 4, 8)``.

    Args:
        num_classes: size of the classifier's output.
        width: the stem's and layer1's channel count (the official ``initial_channels``, 64).
        stride: the stem convolution's stride (1 for CIFAR, 2 for Tiny-ImageNet).
    """

    def __init__(self, num_classes: int, *, width: int = 64, stride: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, width, 3, stride=stride, padding=1, bias=False)
        self.layer1 = _stage(width, width, stride=1)
        self.layer2 = _stage(width, 2 * width, stride=2)
        self.layer3 = _stage(2 * width, 4 * width, stride=2)
        self.layer4 = _stage(4 * width, 8 * width, stride=2)
        self.linear = nn.Linear(8 * width, num_classes)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer1(self.conv1(x))

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(F.adaptive_avg_pool2d(self._top(x), 1).flatten(1))

    def _top(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(x))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional features (B, 8w, h, w'), which ``forward`` averages over
        space and feeds to ``linear`` (class activation maps read them)."""
        return self._top(self.layer2(self._embed(x)))

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        """``[stem + layer1, layer2, layer3 + layer4 + head]``; their composition is forward."""
        return (self._embed, self.layer2, self._classify)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._classify(self.layer2(self._embed(x)))


def _stage(in_planes: int, planes: int, *, stride: int) -> nn.Sequential:
    return nn.Sequential(PreActBlock(in_planes, planes, stride), PreActBlock(planes, planes, 1))
