"""ResNet-50 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016) for the
paper's ImageNet experiments: torchvision's ``resnet50(weights=None)`` (the official Co-Mixup
ImageNet code, ``comix-imagenet``, trains the standard torchvision-style ResNet-50), with
torchvision's own initialisation (Kaiming normal fan-out convs, BN 1/0) and its ImageNet stem
(7x7 stride-2 conv, 3x3 stride-2 max pool); nothing is downloaded.

The model is torchvision's ``ResNet`` itself, built exactly as ``resnet50`` builds it, with
mixing stages added, so its parameter names and forward are torchvision's and torchvision
checkpoints load. Mixing stages (Manifold Mixup): ``[conv1 + bn1 + relu + maxpool + layer1,
layer2, layer3 + layer4 + avgpool + flatten + fc]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torchvision.models.resnet import Bottleneck, ResNet

LAYERS = (3, 4, 6, 3)
"""Bottleneck blocks per stage, as ``torchvision.models.resnet50``."""


class ResNet50(ResNet):
    """torchvision's ResNet-50, randomly initialised, with Manifold Mixup's mixing stages."""

    def __init__(self, num_classes: int) -> None:
        super().__init__(Bottleneck, list(LAYERS), num_classes=num_classes)
        self.num_classes = num_classes

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer1(x)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.layer4(self.layer3(x)))
        return self.fc(torch.flatten(x, 1))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """layer4's output (B, 2048, h, w), which ``forward`` averages over space and feeds to
        ``fc`` (class activation maps read it, as the official ``comix-localization``
        ``get_feature_and_linear_resnet50``)."""
        return self.layer4(self.layer3(self.layer2(self._embed(x))))

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        """``[stem + layer1, layer2, layer3 + layer4 + head]``; their composition is forward."""
        return (self._embed, self.layer2, self._classify)
