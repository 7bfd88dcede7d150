"""Per-batch training time of every method on this device, by phase.

Time one training step of every method side by side (GPU when present) and compare the ratios
with the supplement's; writes reports/step-time.{md,csv} (``table timing`` writes the sweep's
timing grid to reports/timing.{md,csv}).

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
"""``benchmarks.tables.step_time.TimingSetup``'s model (CIFAR-100's)."""
BATCH_SIZE = 100
"""``TimingSetup``'s batch size (the official ``main.py`` default)."""
BATCHES = {"GPU": (20, 5), "CPU": (5, 1)}
"""``step_time.default_setup``'s (timed, warm-up) batches per device kind."""
SETUP_FIELDS = ("model", "width", "batch_size", "batches", "warmup")
BACKENDS = ("compiled", "gco")
"""``step_time.BACKENDS`` (``comixup.labeling.BACKENDS``)."""
"""Options that replace the ``TimingSetup`` field of the same name when given."""


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
    import dataclasses

    import torch

    from benchmarks.runner.tracking import setup_tracking
    from benchmarks.tables import step_time
    from benchmarks.tables.report import write_table

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    changes = {key: getattr(args, key) for key in SETUP_FIELDS if getattr(args, key) is not None}
    setup = dataclasses.replace(step_time.default_setup(device), **changes)
    setup_tracking(step_time.EXPERIMENT)  # fail fast on an unreachable server, before timing
    frame, ratios = step_time.run(
        setup,
        device,
        tuple(args.methods),
        backends=tuple(args.backends),
        progress=not args.no_progress,
    )
    md_path, csv_path = write_table(
        frame,
        "step-time",
        args.out,
        title="Time per training batch by method and phase",
        notes=step_time.notes(setup, device, ratios),
        floatfmt=".2f",
    )
    step_time.log_run(setup, device, ratios, [md_path, csv_path])
    print(md_path.read_text())
    return 0
