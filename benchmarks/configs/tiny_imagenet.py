"""Tiny-ImageNet, PreActResNet18, 1200 epochs: the Co-Mixup README's command
(``--learning_rate 0.2 --epochs 1200 --schedule 600 900 --workers 8``)."""

from benchmarks.configs.base import TrainConfig

CONFIG = TrainConfig(
    dataset="tiny-imagenet",
    model="preactresnet18",
    epochs=1200,
    milestones=(600, 900),
    stride=2,  # the official PreActResNet18 for 64x64 inputs
    workers=8,  # README note: 8 data workers for Tiny-ImageNet
)
