"""``comixup-bench prepare-tiny-imagenet``: Tiny-ImageNet's validation images into class
folders, the layout the loader reads."""

from __future__ import annotations

import argparse

from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "prepare-tiny-imagenet",
        help="move Tiny-ImageNet's validation images into class folders",
        description="Sort val/images/ into val/<wnid>/images/ as val/val_annotations.txt "
        "lists them, in place (idempotent: a second run moves only what remains).",
        example_lines=("comixup-bench prepare-tiny-imagenet --data-dir ~/data/tiny-imagenet-200",),
    )
    parser.add_argument("--data-dir", required=True, help="the tiny-imagenet-200 folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from benchmarks.data import prepare_tiny_imagenet

    moved = prepare_tiny_imagenet(args.data_dir)
    print(f"moved {moved} validation images into class folders under {args.data_dir}/val")
    return 0
