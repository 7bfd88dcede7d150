"""CIFAR-100, PreActResNet18, 300 epochs: the Co-Mixup README's command
(``--learning_rate 0.2 --epochs 300 --schedule 100 200 --gammas 0.1 0.1``, batch 100)."""

from benchmarks.configs.base import TrainConfig

CONFIG = TrainConfig(dataset="cifar100", model="preactresnet18")
