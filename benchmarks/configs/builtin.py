"""The built-in offline sets: a narrow PreActResNet18 trained briefly, so that every method
compares on two CPU cores in minutes. ``boxed-digits`` is the README's main job
(``comixup-bench compare``): on it the methods differ by more than their seeds do, on the
plain digits they do not (``comixup-bench sweep datasets``, reports/datasets.md). Not a paper
experiment; the schedule is the CIFAR-100 one scaled down."""

import dataclasses

from benchmarks.configs.base import TrainConfig

CONFIG = TrainConfig(
    dataset="builtin",
    model="preactresnet18",
    epochs=10,
    batch_size=64,
    lr=0.05,
    milestones=(6, 8),
    width=16,
)

BOXED_CONFIG = dataclasses.replace(CONFIG, dataset="boxed-digits", lr=0.1)
"""The offline boxed set (digits pasted on photographs): ``builtin``'s schedule at twice the
learning rate (measured on vanilla, seed 0: lr 0.05 ends the 10 epochs at 54.2% test error,
0.1 at 16.1%)."""
