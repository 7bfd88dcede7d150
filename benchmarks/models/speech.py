"""LeNet and VGG-11 for 1-channel spectrograms, as in the mixup paper's speech experiment.

Zhang et al. (mixup, ICLR 2018, sec. 3.4) and the Co-Mixup supplement train "a LeNet and a
VGG-11" on Google Speech Commands; the architectures are those of ``model.py`` in
github.com/adiyoss/GCommandsPytorch (the loader whose spectrograms ``benchmarks.data.speech``
computes):

- LeNet: conv 5x5 (1 -> 20) -> max-pool 2 -> ReLU -> conv 5x5 (20 -> 20) -> Dropout2d(0.5) ->
  max-pool 2 -> ReLU -> linear (20 x 37 x 22 = 16,280 -> 1000) -> ReLU -> dropout(0.5) ->
  linear (1000 -> classes);
- VGG-11: the VGG "A" configuration with batch norm, 3x3 convs (64, M, 128, M, 256, 256, M,
  512, 512, M, 512, 512, M) -> linear (512 x 5 x 3 = 7,680 -> 512) -> linear (512 -> classes).
  As in that file there is no non-linearity between the two linear layers.

On the 160x100 spectrograms the feature maps before the classifier are 37x22 (LeNet) and 5x3
(VGG-11), the sizes of the reference's fixed linear layers. An adaptive average pool to that
size sits in front of the classifier: the identity at 160x100, so the models equal the
reference there, and any other input size still works. The reference returns
``log_softmax``; here the models return logits (the methods apply their own losses).
Initialisation is PyTorch's default, as the reference's.

``width`` scales the convolutions (None: the paper's): LeNet's two conv layers have ``width``
channels (20); VGG-11's stages have ``width, 2w, 4w, 4w, 8w, 8w, 8w, 8w`` (64). Manifold
Mixup's mixing stages split each net after its first and second conv block (after the pooling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

LENET_FEATURES = (37, 22)
"""LeNet's last feature map on a 160x100 input (the reference's 16,280 = 20 * 37 * 22)."""
VGG_FEATURES = (5, 3)
"""VGG-11's last feature map on a 160x100 input (the reference's 7,680 = 512 * 5 * 3)."""
VGG11_LAYERS = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")
"""VGG "A" in multiples of the width (64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M)."""


class LeNet(nn.Module):
    def __init__(self, num_classes: int, *, width: int = 20, in_channels: int = 1) -> None:
        super().__init__()
        self.block1 = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel_size=5), nn.MaxPool2d(2), nn.ReLU()
        )
        self.block2 = nn.Sequential(
            nn.Conv2d(width, width, kernel_size=5),
            nn.Dropout2d(0.5),
            nn.MaxPool2d(2),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(LENET_FEATURES),
            nn.Flatten(),
            nn.Linear(width * LENET_FEATURES[0] * LENET_FEATURES[1], 1000),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(1000, num_classes),
        )

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        return [self.block1, self.block2, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block2(self.block1(x)))


def _vgg_layers(config: Sequence[int | str], width: int, in_channels: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    channels = in_channels
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = int(item) * width
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        channels = out
    return layers


class VGG11(nn.Module):
    def __init__(self, num_classes: int, *, width: int = 64, in_channels: int = 1) -> None:
        super().__init__()
        layers = VGG11_LAYERS  # blocks end after its first and second "M"
        self.block1 = nn.Sequential(*_vgg_layers(layers[:2], width, in_channels))
        self.block2 = nn.Sequential(*_vgg_layers(layers[2:4], width, width))
        self.block3 = nn.Sequential(*_vgg_layers(layers[4:], width, 2 * width))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(VGG_FEATURES),
            nn.Flatten(),
            nn.Linear(8 * width * VGG_FEATURES[0] * VGG_FEATURES[1], 512),
            nn.Linear(512, num_classes),
        )

    def mixing_stages(self) -> Sequence[Callable[[torch.Tensor], torch.Tensor]]:
        return [self.block1, self.block2, nn.Sequential(self.block3, self.head)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block3(self.block2(self.block1(x))))
