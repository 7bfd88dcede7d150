"""The registries hold names as plain data: reading them imports no torch, and every target
they name resolves to what its user expects."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

REGISTRIES = {
    "benchmarks.methods": ("METHODS", "METHOD_NAMES"),
    "benchmarks.models": ("MODELS", "MODEL_NAMES", "SPECTROGRAM_MODELS"),
    "benchmarks.data": ("DATASETS", "DATASET_NAMES", "BOXED_DATASETS"),
    "benchmarks.configs": ("PRESETS",),
    "benchmarks.sweep.experiments": ("EXPERIMENTS", "SCALES"),
    "benchmarks.sweep.launch": ("LAUNCHERS",),
}
HEAVY = ("torch", "numpy", "pandas", "mlflow", "matplotlib", "scipy", "submitit", "comixup")


def test_reading_the_registries_imports_nothing_heavy():
    lines = [f"from {module} import {', '.join(names)}" for module, names in REGISTRIES.items()]
    script = "\n".join(
        [
            *lines,
            "import sys",
            "assert len(METHODS) == 7 and len(EXPERIMENTS) == 8, 'the registries are read'",
            f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_names_are_the_registries_keys_in_order():
    from benchmarks import data, methods, models

    assert tuple(methods.METHODS) == methods.METHOD_NAMES
    assert tuple(models.MODELS) == models.MODEL_NAMES
    assert tuple(data.DATASETS) == data.DATASET_NAMES
    assert set(data.BOXED_DATASETS) <= set(data.DATASETS)
    assert set(models.SPECTROGRAM_MODELS) <= set(models.MODELS)


@pytest.mark.parametrize("name", ["vanilla", "cutmix", "comixup", "vat"])
def test_a_method_entry_resolves_to_its_class_and_config(name):
    from benchmarks.methods import METHODS, get_method, method_class, method_config_class
    from comixup.method import Method

    method = get_method(name, num_classes=10, dataset="builtin")
    assert type(method) is method_class(name) and isinstance(method, Method)
    assert type(method).__name__ == METHODS[name].method
    config = method_config_class(name)
    assert (config is None) == (METHODS[name].config is None)
    if config is not None:
        assert dataclasses.is_dataclass(config) and method.config.__class__ is config


def test_every_dataset_module_has_a_spec_and_a_builder():
    from benchmarks.data import DATASETS, DatasetSpec, dataset_spec

    for name in DATASETS:
        assert isinstance(dataset_spec(name), DatasetSpec), name
    with pytest.raises(ValueError, match="known datasets: cifar100, tiny-imagenet"):
        dataset_spec("cifar10")


def test_the_packages_exports_load_on_first_use():
    import benchmarks.data
    import benchmarks.models
    from benchmarks.data import loaders
    from benchmarks.models import preactresnet

    assert benchmarks.data.make_loaders is loaders.make_loaders
    assert benchmarks.models.PreActResNet18 is preactresnet.PreActResNet18
    for package in (benchmarks.data, benchmarks.models):
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            package.nothing  # noqa: B018


def test_the_sensitivity_variants_are_made_from_comixups_defaults_on_first_use():
    from benchmarks.sweep.experiments import EXPERIMENTS, SENSITIVITY_ROWS
    from comixup.config import CoMixupConfig

    variants = EXPERIMENTS["sensitivity"].variants
    assert len(variants) == sum(len(values) for _, values in SENSITIVITY_ROWS.values())
    defaults = [v for v in variants if not v.overrides]  # the default point of each row
    assert {v.row for v in defaults} == set(SENSITIVITY_ROWS)
    for variant in defaults:
        field, _ = SENSITIVITY_ROWS[variant.row]
        assert float(variant.column) == getattr(CoMixupConfig(), field)
