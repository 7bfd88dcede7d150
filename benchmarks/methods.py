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
import importlib
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from comixup.method import Method


class MethodEntry(NamedTuple):
    """Where a method is: its module and the names, in it, of its method class and of its
    config dataclass (None for a method without settings)."""

    module: str
    method: str
    config: str | None = None


METHODS: dict[str, MethodEntry] = {
    "vanilla": MethodEntry("baselines.vanilla", "VanillaMethod"),
    "input_mixup": MethodEntry("baselines.input_mixup", "InputMixupMethod", "InputMixupConfig"),
    "manifold_mixup": MethodEntry(
        "baselines.manifold_mixup", "ManifoldMixupMethod", "ManifoldMixupConfig"
    ),
    "cutmix": MethodEntry("baselines.cutmix", "CutMixMethod", "CutMixConfig"),
    "puzzle_mix": MethodEntry("baselines.puzzle_mix", "PuzzleMixMethod", "PuzzleMixConfig"),
    "comixup": MethodEntry("comixup.method", "CoMixupMethod", "CoMixupConfig"),
    "vat": MethodEntry("baselines.vat", "VATMethod", "VATConfig"),
}
"""The method registry, name -> :class:`MethodEntry`. Its module is imported on first use,
so that naming the methods (the command line's choices, ``--help``) imports no torch. The
method class is built as ``Method(num_classes=...)``, or with ``config=Config(...)`` when it
has a config, and has ``loss(model, x, y, *, generator=None, grad_scale=None) -> (loss,
stats)`` (:class:`comixup.method.Method`). A new method is one module and one line here."""

METHOD_NAMES: tuple[str, ...] = tuple(METHODS)
"""The registered methods, in the registry's order."""

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


def _entry(name: str) -> MethodEntry:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}.")
    return METHODS[name]


def method_class(name: str) -> type:
    """The class of method ``name``, imported from its module."""
    entry = _entry(name)
    return getattr(importlib.import_module(entry.module), entry.method)


def method_config_class(name: str) -> type | None:
    """The config dataclass of method ``name`` (None for a method without settings)."""
    entry = _entry(name)
    if entry.config is None:
        return None
    return getattr(importlib.import_module(entry.module), entry.config)


def get_method(
    name: str, *, num_classes: int, dataset: str = "cifar100", **overrides: Any
) -> Method:
    """Build method ``name`` for ``num_classes`` classes with ``dataset``'s official defaults.

    Raises:
        ValueError: for an unknown method name (listing the known ones) or an override that
            is not a field of the method's config (listing the fields).
    """
    builder = method_class(name)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    config_class = method_config_class(name)
    if config_class is None:
        if overrides:
            raise ValueError(f"method {name!r} takes no settings, got {sorted(overrides)}.")
        return builder(num_classes=num_classes)
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
    return builder(num_classes=num_classes, config=config_class(**settings))


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
