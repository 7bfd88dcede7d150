"""Train one method on one dataset, logged to MLflow (resumable).

Train one method from the dataset's preset; every run is logged to MLflow with a checkpoint
per epoch, and rerunning the same command resumes from that checkpoint.

Examples:
    comixup-bench train --dataset builtin --method cutmix --epochs 2 --limit-batches 5
    comixup-bench train --dataset cifar100 --method comixup --data-dir ~/data --download
    comixup-bench train --dataset cifar100 --method comixup --set method.alpha=1.0
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _training
from benchmarks.commands._common import add_command, add_no_progress, fail
from benchmarks.errors import user_input
from benchmarks.methods import METHODS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "train", __doc__, run)
    parser.add_argument(
        "--method", required=True, choices=METHODS, metavar="METHOD", help="method: %(choices)s"
    )
    _training.add_run_options(parser)
    _training.add_fresh_option(parser, resume=True)
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    from benchmarks.runner.train import checkpoint_path, train

    with user_input():  # a refused override is the user's to fix
        config = _training.train_config(args)
    path = checkpoint_path(config)
    if args.resume and not path.exists():
        fail(
            f"--resume: no checkpoint for this configuration at {path}; run without --resume "
            "to start it."
        )
    result = train(config, resume=not args.fresh, progress=not args.no_progress)
    if not result.run_id:  # a non-zero rank under torchrun: rank 0 reports
        return 0
    shown = {key: round(value, 4) for key, value in result.metrics.items() if "time_" not in key}
    print(f"MLflow run {result.run_id}: {shown}")
    print(f"checkpoint: {result.checkpoint_path}")
    return 0
