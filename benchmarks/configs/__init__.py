"""Training configurations: one file per paper experiment, each default with its source.

``preset(dataset)`` returns that experiment's :class:`TrainConfig`; ``apply_overrides``
applies ``--set key=value`` strings (``method.<field>=value`` for the method's settings).
"""

from benchmarks.configs import builtin, cifar100, imagenet, speech, tiny_imagenet
from benchmarks.configs.base import Phase, TrainConfig, apply_overrides

PRESETS: dict[str, TrainConfig] = {
    "cifar100": cifar100.CONFIG,
    "tiny-imagenet": tiny_imagenet.CONFIG,
    "imagenet": imagenet.CONFIG,
    "builtin": builtin.CONFIG,
    "boxed-digits": builtin.BOXED_CONFIG,
    "speechcommands": speech.CONFIG,
    "speech-builtin": speech.BUILTIN_CONFIG,
}


def preset(dataset: str) -> TrainConfig:
    """The experiment's configuration for ``dataset``."""
    if dataset not in PRESETS:
        raise ValueError(f"no preset for dataset {dataset!r}; presets: {', '.join(PRESETS)}.")
    return PRESETS[dataset]


__all__ = ["PRESETS", "Phase", "TrainConfig", "apply_overrides", "preset"]
