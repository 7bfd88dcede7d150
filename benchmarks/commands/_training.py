"""Options of the commands that train (``train``, ``compare``, ``table5``) and the training
configuration they resolve to: the dataset's preset, then the shortcut options, then
``--set KEY=VALUE`` overrides, then the ``--download`` / ``--amp`` switches."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchmarks.commands._common import assignment, positive_int
from benchmarks.configs import PRESETS as DATASETS
from benchmarks.models import MODELS

if TYPE_CHECKING:
    from benchmarks.configs import TrainConfig

PRESET = "the preset's"
"""Where a training option's default comes from: the dataset's preset in benchmarks/configs."""
SHORTCUTS = ("method", "model", "epochs", "limit_batches", "seed", "patience", "data_dir", "width")
"""Options that set the config field of the same name (when given)."""
SWITCHES = ("download", "amp")
"""On/off options that set their config field to true, after the ``--set`` overrides."""


def add_dataset_options(
    parser: argparse.ArgumentParser, *, choices: Sequence[str], default: str, help: str
) -> None:
    """``--dataset`` (validated against ``choices``), ``--data-dir`` and ``--download``."""
    parser.add_argument("--dataset", default=default, choices=choices, metavar="DATASET", help=help)
    parser.add_argument("--data-dir", help=f"dataset folder (default: {PRESET})")
    parser.add_argument("--download", action="store_true", help="download missing data")


def add_schedule_options(
    parser: argparse.ArgumentParser, *, epochs_note: str = PRESET, patience_note: str = PRESET
) -> None:
    """``--epochs``, ``--limit-batches``, ``--width`` and ``--patience``; the notes say where
    the defaults of epochs and patience come from."""
    parser.add_argument("--epochs", type=positive_int, help=f"epochs (default: {epochs_note})")
    parser.add_argument(
        "--limit-batches", type=positive_int, help="train on at most N batches per epoch"
    )
    parser.add_argument(
        "--width", type=positive_int, help=f"model width of the first stage (default: {PRESET})"
    )
    parser.add_argument(
        "--patience",
        type=positive_int,
        help="early stopping: stop after N epochs without a better validation (else test) "
        f"accuracy (default: {patience_note})",
    )


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        type=assignment,
        metavar="KEY=VALUE",
        help="override a config field (repeatable), typed and checked before anything runs; "
        "<method>.<field> for a method's setting (e.g. cutmix.alpha=0.2), method.<field> "
        "when one method runs",
    )


def add_fresh_option(parser: argparse.ArgumentParser, *, resume: bool) -> None:
    """``--fresh`` and, with ``resume``, ``--resume``: one or the other, never both."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--fresh", action="store_true", help="start over, ignoring existing checkpoints"
    )
    if resume:
        group.add_argument(
            "--resume",
            action="store_true",
            help="require a checkpoint and continue its MLflow run (rerunning resumes anyway)",
        )


def add_run_options(parser: argparse.ArgumentParser, dataset: str = "builtin") -> None:
    """What ``train`` and ``compare`` share: the dataset (default ``dataset``), model, schedule
    and overrides."""
    add_dataset_options(
        parser,
        choices=DATASETS,
        default=dataset,
        help="dataset, of: %(choices)s; its preset in benchmarks/configs gives the paper's "
        "schedule",
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        metavar="MODEL",
        help=f"model: %(choices)s (default: {PRESET})",
    )
    add_schedule_options(parser)
    parser.add_argument("--seed", type=int, help=f"random seed (default: {PRESET})")
    parser.add_argument("--amp", action="store_true", help="native mixed precision (torch.amp)")
    add_set_option(parser)


def overrides(args: argparse.Namespace) -> list[str]:
    """The ``KEY=VALUE`` assignments the options of ``args`` stand for, in the order they
    apply: shortcuts, then ``--set``, then switches (so ``--download`` wins over ``--set``)."""
    shortcuts = [
        f"{key}={json.dumps(value)}"
        for key in SHORTCUTS
        if (value := getattr(args, key, None)) is not None
    ]
    switches = [f"{key}=true" for key in SWITCHES if getattr(args, key, False)]
    return [*shortcuts, *(args.set or []), *switches]


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The dataset's preset with every option of ``args`` applied (one method)."""
    from benchmarks.configs import apply_overrides, preset

    return apply_overrides(preset(args.dataset), overrides(args))


def methods_config(
    args: argparse.Namespace, methods: Sequence[str]
) -> tuple[TrainConfig, dict[str, dict]]:
    """The preset with the training options applied, and each of ``methods``' settings
    (``--set <method>.<field>=value``)."""
    from benchmarks.configs import preset
    from benchmarks.configs.base import resolve_overrides

    return resolve_overrides(preset(args.dataset), overrides(args), methods)
