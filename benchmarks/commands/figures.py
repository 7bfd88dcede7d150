"""The mixes as pictures: paper Figures 7-9 and every mixer side by side.

One batch of 24 inputs (photos bundled with scikit-image and scikit-learn, or ImageNet
validation images with --imagenet-dir) and its saliency (the input gradients of a trained
run's model with --run-id, else the spectral residual of each photo); Co-Mixup's outputs at
the default tau and at --tau-large, and the outputs of Input Mixup, Manifold Mixup (input
level), CutMix and Puzzle Mix, each output captioned with its sources and their shares. Writes
figure7-inputs.png, figure8-comixup.png, figure9-comixup-larger-tau.png, figure-mixers.png and
figures.md to --out; logs them as artifacts of --run-id, or of a run in the MLflow experiment
'figures'. CPU; the same seed writes the same PNGs.

Examples:
    comixup-bench figures
    comixup-bench figures --seed 3 --tau-large 0.95
    comixup-bench figures --run-id 0123abcd --imagenet-dir ~/data/imagenet
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands._common import add_command, add_out

TAU_LARGE = 0.99
"""``benchmarks.figures.mixes.TAU_LARGE`` (checked by the tests)."""


def _tau(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"tau must be a non-negative number, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "figures", __doc__, run)
    parser.add_argument("--seed", type=int, default=0, help="seed of the crops and every mix")
    parser.add_argument(
        "--tau-large", type=_tau, default=TAU_LARGE, help="Co-Mixup's tau of Figure 9"
    )
    parser.add_argument(
        "--run-id", help="MLflow run whose trained model gives the saliency (and gets the PNGs)"
    )
    parser.add_argument(
        "--imagenet-dir", type=Path, help="ImageNet folder (with val/<wnid>/*.JPEG) to draw from"
    )
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    from benchmarks.figures.make import make_figures
    from benchmarks.tables.report import command_line

    result = make_figures(
        args.out,
        seed=args.seed,
        tau_large=args.tau_large,
        run_id=args.run_id,
        imagenet_dir=args.imagenet_dir,
        command=command_line(),
    )
    print(*(_sources_line(name, counts) for name, counts in result.sources.items()), sep="\n")
    print(f"saliency: {result.saliency}")
    print(f"wrote {', '.join(str(path) for path in result.files)} in {result.seconds:.1f} s")
    print(f"MLflow run {result.run_id} (artifacts under figures/)")
    return 0


def _sources_line(name: str, counts: list[int]) -> str:
    """How many inputs the outputs of figure ``name`` mix: mean (min-max)."""
    mean = sum(counts) / len(counts)
    return f"{name}: {mean:.2f} inputs per output ({min(counts)}-{max(counts)})"
