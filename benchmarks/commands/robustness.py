"""Robustness to background corruption and weakly supervised localisation of trained runs.

Takes finished training runs (--run-id, or a sweep's runs on a set with boxes at --scale: the
main sweep's ImageNet / ResNet-50 at paper scale and boxed digits at smoke scale; --experiment
datasets: the main job's boxed-digits runs over seeds), writes
the clean, replacement and Gaussian-noise versions of the run's test set with boxes (once; they
are reused), and evaluates each run on the three with the official comix-localization pipeline:
top-1 / top-5 error, and localisation top-1 (top-1 class right and the CAM box's IoU >= 0.5 with
a true box; CAM box: the largest region above a quarter of the map's maximum). Each trained run
gets an evaluation run in the MLflow experiment 'robustness' (tag 'evaluates' = its id). Writes
reports/robustness.{md,csv}, reports/localization.{md,csv} (mean (std) over seeds) and
reports/cam_grid.png.

Examples:
    comixup-bench robustness --scale smoke
    comixup-bench robustness --experiment datasets --out reports/boxed-digits
    comixup-bench robustness --run-id 0123abcd 4567ef01
    comixup-bench robustness --data-dir ~/data/imagenet --boxes-dir ~/data/imagenet/val-boxes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands._common import add_command, add_out, fail, positive_int
from benchmarks.commands._training import add_set_option
from benchmarks.evaluation.selection import EXPERIMENTS
from benchmarks.sweep.experiments import SCALES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "robustness", __doc__, run)
    parser.add_argument("--run-id", nargs="+", metavar="ID", help="MLflow runs to evaluate")
    parser.add_argument(
        "--experiment",
        choices=EXPERIMENTS,
        default="main",
        help="without --run-id: the sweep whose runs on a set with boxes are evaluated",
    )
    parser.add_argument(
        "--scale", choices=SCALES, default="paper", help="without --run-id: the sweep's"
    )
    parser.add_argument("--seeds", type=positive_int, help="seeds 0..N-1 (default: the sweep's)")
    add_set_option(parser)
    parser.add_argument(
        "--data-dir", type=Path, help="the training set's folder (imagenet: holds val/)"
    )
    parser.add_argument("--boxes-dir", type=Path, help="imagenet: folder of the val XML boxes")
    parser.add_argument(
        "--corrupted-dir",
        type=Path,
        help="where the three sets are written (default: as comixup-bench prepare-boxes)",
    )
    parser.add_argument("--corruption-seed", type=int, default=0, help="seed of the corruptions")
    parser.add_argument(
        "--threshold", type=float, default=0.25, help="CAM box threshold, share of the max"
    )
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images per batch")
    parser.add_argument("--examples", type=int, default=6, help="images per method in the grid")
    parser.add_argument(
        "--checkpoints", type=Path, default=Path("checkpoints"), help="local checkpoint folder"
    )
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.threshold <= 1:
        fail(f"--threshold is a share of the CAM's maximum in [0, 1], got {args.threshold}.")
    from benchmarks.evaluation.reports import evaluate_and_write
    from benchmarks.evaluation.robustness import Options
    from benchmarks.evaluation.selection import Selection

    selection = Selection(
        args.run_id or (), args.experiment, args.scale, args.seeds, tuple(args.set or ())
    )
    options = Options(
        data_dir=args.data_dir,
        boxes_dir=args.boxes_dir,
        corrupted_dir=args.corrupted_dir,
        corruption_seed=args.corruption_seed,
        threshold=args.threshold,
        batch_size=args.batch_size,
        examples=args.examples,
        checkpoints=args.checkpoints,
    )
    try:
        paths = evaluate_and_write(selection, options, args.out)
    except ValueError as error:
        print(f"comixup-bench robustness: {error}", file=sys.stderr)
        return 2
    print("\n".join(f"wrote {path}" for path in paths))
    return 0
