"""Table 5: LeNet and VGG-11 x six methods on Google Speech Commands.

Train (or, with --from-mlflow, only collect) the 12 runs of Table 5 - {LeNet, VGG-11} x
{vanilla, input_mixup, manifold_mixup, cutmix, puzzle_mix, comixup} - and write
reports/table5.{md,csv}: the test error at the best validation epoch, mean (std) over seeds,
best per row in bold.

Examples:
    comixup-bench table5 --dataset speech-builtin  # offline, CPU: minutes
    comixup-bench table5 --data-dir ~/data/speech --download --seeds 3
    comixup-bench table5 --dataset speechcommands --from-mlflow
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _training
from benchmarks.commands._common import (
    add_command,
    add_name_list,
    add_no_progress,
    add_out,
    positive_int,
)
from benchmarks.commands.names import SPEECH_DATASETS, TABLE5_METHODS, TABLE5_MODELS
from benchmarks.errors import user_input

EPOCHS = {"speechcommands": 30, "speech-builtin": 10}
"""The presets' epochs (``benchmarks.configs.speech``)."""
PATIENCE = 5
"""Both presets' early-stopping patience (the supplement's)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "table5", __doc__, run)
    _training.add_dataset_options(
        parser,
        choices=SPEECH_DATASETS,
        default="speechcommands",
        help="%(choices)s: Speech Commands v0.01 (needs --data-dir) or the offline spoken-words "
        "set",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        help="seeds 0..N-1 (default: seed 0 when training, every seed with --from-mlflow)",
    )
    _training.add_schedule_options(
        parser,
        epochs_note=", ".join(f"{count} for {name}" for name, count in EPOCHS.items()),
        patience_note=str(PATIENCE),
    )
    add_name_list(parser, "--models", TABLE5_MODELS, metavar="MODEL", what="the rows")
    add_name_list(parser, "--methods", TABLE5_METHODS, metavar="METHOD", what="the columns")
    _training.add_set_option(parser)
    parser.add_argument(
        "--from-mlflow",
        action="store_true",
        help="train nothing: build the table from the finished runs in the MLflow store",
    )
    _training.add_fresh_option(parser, resume=False)
    add_out(parser)
    add_no_progress(parser)


def _collect_runs(args: argparse.Namespace):
    """The table's runs: found in the MLflow store (--from-mlflow) or trained now."""
    from mlflow.tracking import MlflowClient

    from benchmarks.suite import train_all
    from benchmarks.tables import table5
    from benchmarks.tracking import check_reachable, tracking_uri

    seeds = list(range(args.seeds)) if args.seeds is not None else None
    if args.from_mlflow:
        check_reachable(tracking_uri())  # fail fast on an unreachable server
        with user_input():  # no experiment or no finished run: train them first
            return table5.runs_by_tags(
                MlflowClient(tracking_uri()),
                args.dataset,
                models=args.models,
                methods=args.methods,
                seeds=seeds,
            )
    grid = table5.grid(args.models, args.methods, seeds or [0])
    with user_input():  # a refused override is the user's to fix
        config = _training.train_config(args)
    results = train_all(config, grid, progress=not args.no_progress, resume=not args.fresh)
    run_ids = [result.run_id for result in results.values()]
    return table5.runs_by_id(MlflowClient(tracking_uri()), run_ids)


def run(args: argparse.Namespace) -> int:
    from benchmarks.tables import table5
    from benchmarks.tables.report import write_table

    runs = _collect_runs(args)
    summary = table5.summarise(runs)
    md_path, csv_path = write_table(
        table5.format_table(summary),
        "table5",
        args.out,
        title=f"Table 5: top-1 test error (%) on {args.dataset}, LeNet and VGG-11",
        notes=table5.notes(runs, args.dataset),
        floatfmt=".2f",  # cells without bold are parsed as numbers by tabulate
    )
    # The CSV holds the numbers (one row per model and method), not the formatted cells.
    table5.numbers(summary, runs).to_csv(csv_path, index=False)
    print(md_path.read_text())
    print(f"wrote {md_path} and {csv_path}")
    return 0
