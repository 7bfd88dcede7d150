"""Per-batch training time of every method on this device, by phase.

Time one training step of every method side by side (GPU when present), log every figure as
one MLflow run (experiment ``timing``) and build from that run the table with the ratios beside
the supplement's; writes reports/step-time.{md,csv} (``table timing`` writes the sweep's timing
grid to reports/timing.{md,csv}).

Examples:
    comixup-bench timing
    comixup-bench timing --width 16 --batch-size 32 --methods vanilla comixup
    comixup-bench timing --methods vanilla puzzle_mix comixup --backends compiled gco
"""

from __future__ import annotations

import argparse

from benchmarks.commands._common import (
    add_command,
    add_name_list,
    add_no_progress,
    add_out,
    positive_int,
)
from benchmarks.methods import METHODS
from benchmarks.models import MODELS

MODEL = "preactresnet18"
"""``benchmarks.runner.timing.TimingSetup``'s model (CIFAR-100's)."""
BATCH_SIZE = 100
"""``TimingSetup``'s batch size (the official ``main.py`` default)."""
BATCHES = {"GPU": (20, 5), "CPU": (5, 1)}
"""``timing.default_setup``'s (timed, warm-up) batches per device kind."""
SETUP_FIELDS = ("model", "width", "batch_size", "batches", "warmup")
"""Options that replace the ``TimingSetup`` field of the same name when given."""
BACKENDS = ("compiled", "gco")
"""``benchmarks.runner.timing.BACKENDS`` (``comixup.labeling.BACKENDS``)."""


def _per_device(index: int) -> str:
    return ", ".join(f"{counts[index]} on a {kind}" for kind, counts in BATCHES.items())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "timing", __doc__, run)
    parser.add_argument(
        "--model", choices=MODELS, default=MODEL, metavar="MODEL", help="model: %(choices)s"
    )
    parser.add_argument("--width", type=positive_int, help="model width (default: the paper's)")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, help="batch size")
    parser.add_argument(
        "--batches", type=positive_int, help=f"timed batches (default: {_per_device(0)})"
    )
    parser.add_argument(
        "--warmup", type=int, help=f"untimed warm-up batches (default: {_per_device(1)})"
    )
    add_name_list(parser, "--methods", METHODS, metavar="METHOD", what="the methods to time")
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        metavar="BACKEND",
        help="labeling backends to time Puzzle Mix and Co-Mixup with, of: %(choices)s; the "
        "first is the one the ratios use",
    )
    add_out(parser)
    add_no_progress(parser, "hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from benchmarks.runner import timing
    from benchmarks.tables import step_time

    changes = {key: getattr(args, key) for key in SETUP_FIELDS if getattr(args, key) is not None}
    run_id = timing.measure_and_log(
        changes, args.methods, backends=args.backends, progress=not args.no_progress
    )
    print(step_time.write_report(run_id, args.out).read_text())
    print(f"MLflow run {run_id} (experiment '{timing.EXPERIMENT}')")
    return 0
