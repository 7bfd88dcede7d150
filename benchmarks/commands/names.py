"""The names the command line accepts, as plain constants so that building the parser imports
no registry (the registries import torch). ``tests/test_cli.py`` checks that every tuple here
equals its registry: add a method, model or preset there and here."""

from __future__ import annotations

METHODS = ("vanilla", "input_mixup", "manifold_mixup", "cutmix", "puzzle_mix", "comixup", "vat")
"""``benchmarks.methods.METHOD_NAMES``, in its order."""

MODELS = ("preactresnet18", "wrn16_8", "resnext29_4_24", "resnet50", "lenet", "vgg11")
"""``benchmarks.models.MODEL_NAMES``, in its order."""

DATASETS = (
    "boxed-digits",
    "builtin",
    "cifar100",
    "imagenet",
    "speech-builtin",
    "speechcommands",
    "tiny-imagenet",
)
"""The presets of ``benchmarks.configs.PRESETS``, sorted."""

BOXED_DATASETS = ("boxed-digits", "imagenet")
"""``benchmarks.data.BOXED_DATASETS``: the datasets with ground-truth boxes."""

SPEECH_DATASETS = ("speechcommands", "speech-builtin")
"""The presets Table 5 trains on."""

TABLE5_MODELS = ("lenet", "vgg11")
"""``benchmarks.tables.table5.MODELS``: the supplement's rows."""

TABLE5_METHODS = ("vanilla", "input_mixup", "manifold_mixup", "cutmix", "puzzle_mix", "comixup")
"""``benchmarks.tables.table5.METHODS``: the supplement's columns, in its order."""

SWEEP_EXPERIMENTS = (
    "main",
    "significance",
    "sensitivity",
    "vat",
    "speech",
    "calibration",
    "timing",
    "datasets",
)
"""``benchmarks.sweep.experiments.EXPERIMENTS``, in its order."""

SCALES = ("paper", "smoke")
"""``benchmarks.sweep.experiments.SCALES``."""

LAUNCHERS = ("local", "slurm")
"""``benchmarks.sweep.launch.LAUNCHERS``."""

TABLE_EXPERIMENTS = (
    "main",
    "significance",
    "calibration",
    "sensitivity",
    "vat",
    "speech",
    "timing",
    "datasets",
)
"""The experiments ``comixup-bench table`` builds a table of."""
