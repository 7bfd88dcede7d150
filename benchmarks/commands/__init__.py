"""The sub-commands of ``comixup-bench``, one module each.

Every module has ``register(subparsers)``, which adds its parser and sets ``handler=run``,
and ``run(args) -> int``, which does the work. Its docstring is its help (first line: the
summary in ``comixup-bench --help``; the rest: the description) and its ``EXAMPLES`` close
that help. Registering imports nothing heavy: torch, MLflow, pandas and the runner are
imported inside ``run``, so ``comixup-bench --help`` answers at once; the names the options
accept are the constants of :mod:`benchmarks.commands.names`. A new command is one module
here and one entry in :data:`COMMANDS`; shared pieces are in ``_common`` (help layout,
argument types, ``--out``), ``_training`` (options of the commands that train) and
``_analysis`` (options of the algorithm-analysis commands).
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
    table2,
    table3,
    table4,
    figure2,
    analysis,
    figures,
    table5,
    make_speech_builtin,
    train,
    compare,
    sweep,
    table,
    ttest,
    robustness,
    timing,
    gpu_check,
    report,
    prepare_tiny_imagenet,
    prepare_boxes,
)
"""The command modules, in the order ``--help`` lists them."""


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for command in COMMANDS:
        command.register(subparsers)
