"""Move Tiny-ImageNet's validation images into class folders.

Sorts val/images/ into val/<wnid>/images/ as val/val_annotations.txt lists them, in place (a
second run moves only what remains), the layout the Tiny-ImageNet loader reads.

Examples:
    comixup-bench prepare-tiny-imagenet --data-dir ~/data/tiny-imagenet-200
"""

from __future__ import annotations

import argparse

from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "prepare-tiny-imagenet", __doc__, run)
    parser.add_argument("--data-dir", required=True, help="the tiny-imagenet-200 folder")


def run(args: argparse.Namespace) -> int:
    from benchmarks.data import prepare_tiny_imagenet

    moved = prepare_tiny_imagenet(args.data_dir)
    print(f"moved {moved} validation images into class folders under {args.data_dir}/val")
    return 0
