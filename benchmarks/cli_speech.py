"""The speech commands of ``comixup-bench``: ``table5`` and ``make-speech-builtin``.

Kept apart from ``benchmarks.cli`` (which only registers them) so that the speech experiment's
command line lives in one place.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPORTS = Path("reports")
SPEECH_DATASETS = ("speechcommands", "speech-builtin")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _table5_config(args: argparse.Namespace):
    from benchmarks.configs import apply_overrides, preset

    assignments = list(args.set or [])
    for key, value in (
        ("epochs", args.epochs),
        ("limit_batches", args.limit_batches),
        ("data_dir", args.data_dir),
        ("width", args.width),
        ("patience", args.patience),
    ):
        if value is not None:
            assignments.insert(0, f"{key}={json.dumps(value)}")
    if args.download:
        assignments.append("download=true")
    return apply_overrides(preset(args.dataset), assignments)


def _table5(args: argparse.Namespace) -> int:
    from mlflow.tracking import MlflowClient

    from benchmarks.tables import table5
    from benchmarks.tables.report import write_table
    from benchmarks.tracking import check_reachable, tracking_uri

    models = tuple(args.models or table5.MODELS)
    methods = tuple(args.methods or table5.METHODS)
    seeds = list(range(args.seeds)) if args.seeds is not None else None
    if args.from_mlflow:
        check_reachable(tracking_uri())  # fail fast on an unreachable server
        client = MlflowClient(tracking_uri())
        runs = table5.runs_by_tags(
            client, args.dataset, models=models, methods=methods, seeds=seeds
        )
    else:
        config = _table5_config(args)
        run_ids = table5.run_all(
            config,
            models=models,
            methods=methods,
            seeds=seeds or [0],
            progress=not args.no_progress,
            resume=not args.fresh,
        )
        runs = table5.runs_by_id(MlflowClient(tracking_uri()), run_ids)
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


def _make_speech_builtin(args: argparse.Namespace) -> int:
    from benchmarks.data import make_speech_builtin

    folder = make_speech_builtin(args.out, overwrite=args.overwrite)
    print(
        f"the spoken-words set is in {folder}; train on it with "
        f"`comixup-bench train --dataset speech-builtin --data-dir {args.out} --method M`"
    )
    return 0


def add_speech_commands(commands) -> None:
    """Register ``table5`` and ``make-speech-builtin`` on the CLI's subparsers."""
    parser = commands.add_parser(
        "table5",
        help="Table 5: LeNet and VGG-11 x six methods on Google Speech Commands",
        description="Train (or, with --from-mlflow, only collect) the 12 runs of Table 5 "
        "- {LeNet, VGG-11} x {vanilla, input_mixup, manifold_mixup, cutmix, puzzle_mix, "
        "comixup} - and write reports/table5.{md,csv}: the test error at the best validation "
        "epoch, mean (std) over seeds, best per row in bold.",
    )
    parser.add_argument(
        "--dataset",
        default="speechcommands",
        choices=SPEECH_DATASETS,
        help="speechcommands (v0.01, needs --data-dir) or the offline speech-builtin set",
    )
    parser.add_argument("--data-dir", help="dataset folder (torchaudio's SPEECHCOMMANDS root)")
    parser.add_argument("--download", action="store_true", help="download Speech Commands")
    parser.add_argument("--epochs", type=_positive_int, help="default: the preset's (30)")
    parser.add_argument("--seeds", type=_positive_int, help="seeds 0..N-1 (default 1)")
    parser.add_argument("--limit-batches", type=_positive_int, help="batches per epoch")
    parser.add_argument("--width", type=_positive_int, help="model width (default: preset's)")
    parser.add_argument("--patience", type=_positive_int, help="early stopping (default 5)")
    parser.add_argument("--models", nargs="+", help="a subset of lenet vgg11")
    parser.add_argument("--methods", nargs="+", help="a subset of the six methods")
    parser.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override any config field"
    )
    parser.add_argument(
        "--from-mlflow",
        action="store_true",
        help="train nothing: build the table from the finished runs in the MLflow store",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")
    parser.add_argument("--out", type=Path, default=REPORTS, help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(handler=_table5)

    make = commands.add_parser(
        "make-speech-builtin",
        help="synthesise the offline spoken-words set (espeak-ng) in Speech Commands' layout",
        description="Write OUT/SpeechCommands/speech_commands_v0.01/<word>/<speaker>_nohash_0.wav "
        "with validation_list.txt and testing_list.txt (10 words x 36 espeak-ng voices); use "
        "it with --dataset speech-builtin --data-dir OUT.",
    )
    make.add_argument("--out", required=True, type=Path, help="folder (torchaudio's root)")
    make.add_argument("--overwrite", action="store_true", help="rebuild an existing set")
    make.set_defaults(handler=_make_speech_builtin)
