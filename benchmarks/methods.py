"""The method registry: every method the paper compares, by name.

``get_method(name, num_classes=..., dataset=...)`` builds a method with its official defaults
for that dataset; keyword overrides replace any field of the method's config. Methods with
terms on pixel values (Puzzle Mix, VAT) get the dataset's normalisation (``data_mean``,
``data_std``) from its spec, so the runner never feeds them standardised inputs as pixels.

Mixing-ratio defaults per dataset come from the official commands in the Puzzle Mix and
Co-Mixup READMEs (CIFAR-100: input mixup 1.0, manifold mixup 2.0, CutMix 1.0, Puzzle Mix 1.0,
Co-Mixup's Dirichlet 2.0; Tiny-ImageNet: 0.2, 0.2, 0.2, Puzzle Mix 1.0 with clean_lam 1,
Co-Mixup 2.0). Other datasets (ImageNet, Speech Commands) have no official value for every
method; they use the config defaults (the CIFAR-100 values), one of the supplement's tuning
grid {0.2, 1.0, 2.0}, and say so in their experiment config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from baselines.cutmix import CutMixConfig, CutMixMethod
from baselines.input_mixup import InputMixupConfig, InputMixupMethod
from baselines.manifold_mixup import ManifoldMixupConfig, ManifoldMixupMethod
from baselines.puzzle_mix import PuzzleMixConfig, PuzzleMixMethod
from baselines.vanilla import VanillaMethod
from baselines.vat import VATConfig, VATMethod
from comixup.config import CoMixupConfig
from comixup.method import CoMixupMethod, Method

_REGISTRY: dict[str, tuple[Callable[..., Method], type | None]] = {
    "vanilla": (VanillaMethod, None),
    "input_mixup": (InputMixupMethod, InputMixupConfig),
    "manifold_mixup": (ManifoldMixupMethod, ManifoldMixupConfig),
    "cutmix": (CutMixMethod, CutMixConfig),
    "puzzle_mix": (PuzzleMixMethod, PuzzleMixConfig),
    "comixup": (CoMixupMethod, CoMixupConfig),
    "vat": (VATMethod, VATConfig),
}
METHOD_NAMES: tuple[str, ...] = tuple(_REGISTRY)

DATASET_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "cifar100": {
        "input_mixup": {"alpha": 1.0},
        "manifold_mixup": {"alpha": 2.0},
        "cutmix": {"alpha": 1.0},
        "puzzle_mix": {"alpha": 1.0},
        "comixup": {"alpha": 2.0},
    },
    "tiny-imagenet": {
        "input_mixup": {"alpha": 0.2},
        "manifold_mixup": {"alpha": 0.2},
        "cutmix": {"alpha": 0.2},
        # The README's Tiny-ImageNet command: --clean_lam 1, and no --t_size (main.py's -1:
        # transport at the graph cut's block size).
        "puzzle_mix": {"alpha": 1.0, "clean_lam": 1.0, "t_size": None},
        "comixup": {"alpha": 2.0},
    },
}
"""Per-dataset overrides of the config defaults, from the official README commands."""


def method_config_class(name: str) -> type | None:
    """The config dataclass of method ``name`` (None for a method without settings)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHOD_NAMES)}.")
    return _REGISTRY[name][1]


def get_method(
    name: str, *, num_classes: int, dataset: str = "cifar100", **overrides: Any
) -> Method:
    """Build method ``name`` for ``num_classes`` classes with ``dataset``'s official defaults.

    Raises:
        ValueError: for an unknown method name (listing the known ones) or an override that
            is not a field of the method's config (listing the fields).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHOD_NAMES)}.")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    method_class, config_class = _REGISTRY[name]
    if config_class is None:
        if overrides:
            raise ValueError(f"method {name!r} takes no settings, got {sorted(overrides)}.")
        return method_class(num_classes=num_classes)
    fields = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {unknown} for method {name!r}; its settings are "
            f"{', '.join(sorted(fields))}."
        )
    settings = {**DATASET_DEFAULTS.get(dataset, {}).get(name, {}), **overrides}
    if fields >= PIXEL_FIELDS:
        settings = pixel_normalisation(name, dataset) | settings
    return method_class(num_classes=num_classes, config=config_class(**settings))


PIXEL_FIELDS = frozenset({"data_mean", "data_std"})
"""Config fields of the methods with terms on pixel values (Puzzle Mix, VAT): filled from the
dataset's normalisation, see ``baselines/pixels.py``."""


def pixel_normalisation(name: str, dataset: str) -> dict[str, tuple[float, ...]]:
    """``data_mean`` / ``data_std`` of ``dataset``'s loaders, for method ``name``.

    Raises:
        ValueError: ``dataset`` has no known normalisation (the method would otherwise treat
            standardised inputs as pixels).
    """
    from benchmarks.data import DATASET_NAMES, dataset_spec

    if dataset not in DATASET_NAMES:
        raise ValueError(
            f"method {name!r} computes terms on pixel values and needs the normalisation of "
            f"dataset {dataset!r}, which is not one of {', '.join(DATASET_NAMES)}; pass "
            "data_mean=(...) and data_std=(...) (per channel; (0.0,) and (1.0,) for inputs "
            "already in [0, 1])."
        )
    spec = dataset_spec(dataset)
    return {"data_mean": tuple(spec.mean), "data_std": tuple(spec.std)}
