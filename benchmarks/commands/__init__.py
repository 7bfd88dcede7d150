"""The sub-commands of ``comixup-bench``, one module each.

Every module has ``register(subparsers)``, which adds its parser and sets ``handler=run``,
and ``run(args) -> int``, which parses nothing more, makes one call and prints. Its docstring
is its help (first line: the summary in ``comixup-bench --help``; the rest: the description)
and its ``EXAMPLES`` close that help. Registering imports nothing heavy: torch, MLflow, pandas
and the runner are imported inside ``run``, and the names the options accept are read from the
registries (``benchmarks.methods.METHODS``, ``benchmarks.models.MODELS``,
``benchmarks.configs.PRESETS``, ``benchmarks.sweep.experiments.EXPERIMENTS``, ...), which import
their targets only on use, so ``comixup-bench --help`` answers at once. A new command is one
module here and one entry in :data:`COMMANDS`; shared pieces are in ``_common`` (help layout,
argument types, ``--out``, the :data:`~benchmarks.commands._common.SHORTCUTS` that ``--help``
marks ``[= ...]``), ``_training`` (options of the commands that train) and ``_analysis``
(options of the algorithm-analysis commands).
"""

from __future__ import annotations

import argparse

from benchmarks.commands import (
    analysis,
    compare,
    figure2,
    figures,
    gpu_check,
    make_speech_builtin,
    prepare_boxes,
    prepare_tiny_imagenet,
    report,
    robustness,
    sweep,
    table,
    table2,
    table3,
    table4,
    table5,
    timing,
    train,
    ttest,
)

COMMANDS = (
    train,
    compare,
    sweep,
    table,
    table5,
    ttest,
    robustness,
    timing,
    gpu_check,
    report,
    analysis,
    table2,
    table3,
    table4,
    figure2,
    figures,
    make_speech_builtin,
    prepare_tiny_imagenet,
    prepare_boxes,
)
"""The command modules, in the order ``--help`` lists them: each shortcut after the command
it is a shortcut of."""


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for command in COMMANDS:
        command.register(subparsers)
