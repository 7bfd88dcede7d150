"""Write the clean and background-corrupted test sets of a dataset with boxes, once.

For each test image with ground-truth boxes (boxed-digits, or ImageNet validation with the
ILSVRC2012 box XMLs): the image after the evaluation transform (clean), its background outside
the boxes taken from another image (replacement), and Gaussian noise of std 0.1 added to that
background, clipped to [0, 1] (noise). Writes OUT/{clean,replacement,noise}/<class>/<stem>.png
with one XML of boxes per image (default OUT: DATA_DIR/<dataset>-corrupted-seed<seed>, DATA_DIR
defaulting to ~/.cache/comixup-bench for boxed-digits); a second run with the same settings
reuses them.

Examples:
    comixup-bench prepare-boxes --dataset boxed-digits
    comixup-bench prepare-boxes --dataset imagenet --data-dir ~/data/imagenet --seed 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands._common import add_command
from benchmarks.data import BOXED_DATASETS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "prepare-boxes", __doc__, run)
    parser.add_argument(
        "--dataset",
        choices=BOXED_DATASETS,
        default="boxed-digits",
        help="a dataset with boxes: %(choices)s",
    )
    parser.add_argument("--data-dir", type=Path, help="the dataset's folder")
    parser.add_argument(
        "--boxes-dir", type=Path, help="ImageNet: the box XMLs' folder, if not data-dir/val"
    )
    parser.add_argument("--seed", type=int, default=0, help="draws the permutation and noise")
    parser.add_argument("--out", type=Path, help="destination (default: see above)")


def run(args: argparse.Namespace) -> int:
    from benchmarks.data.corruptions import prepare_corrupted_sets

    folders = prepare_corrupted_sets(
        args.dataset, args.data_dir, seed=args.seed, out_dir=args.out, boxes_dir=args.boxes_dir
    )
    print(*(f"{name}: {folder}" for name, folder in folders.items()), sep="\n")
    return 0
