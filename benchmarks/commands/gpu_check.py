"""Try every device-specific path once, unattended, and write reports/gpu-check.{md,json}.

One prepared acceptance run for a GPU machine: the device and its CUDA, cuDNN, torch and
driver versions; the per-batch timer (CUDA events) against a wall clock; the torchrun process
group (NCCL); pinned-memory loaders; the timing grid of every method by phase on CIFAR-100
(PreActResNet18, batch 100, 32 px) and ImageNet (ResNet-50, batch 64, 224 px) shapes, float32
and AMP, with Co-Mixup's solver share and the ratios beside the paper's 2.58x and 1.04x;
every method trained 2 short epochs with AMP into MLflow and one run under torchrun, each read
back (FINISHED, finite metrics, predictions.npz). Every check ends pass, fail or not run with
its reason; the exit status is 0 only when no check that ran failed. The device defaults to
cuda and a machine without CUDA is refused (exit 2), never run silently on the CPU: pass
--device cpu (with --tiny: the CI-sized run, under 2 minutes) to try the same code there,
where the CUDA-only checks are marked not run (no CUDA). Checks that would not fit --budget-s
are marked not run (budget); the report is rewritten after every check. The summary run goes
to MLflow experiment gpu-check (MLFLOW_TRACKING_URI, else ./mlflow.db).

Examples:
    comixup-bench gpu-check
    comixup-bench gpu-check --device cuda --out $OUT --budget-s 420
    comixup-bench gpu-check --device cpu --tiny --out /tmp/gpu-check
"""

from __future__ import annotations

import argparse

from benchmarks.commands._common import add_command, add_no_progress, add_out

DEVICES = ("cuda", "cpu")
"""``benchmarks.acceptance.gpu_check.DEVICES``."""


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "gpu-check", __doc__, run)
    parser.add_argument(
        "--device", choices=DEVICES, default="cuda", help="device to check: %(choices)s"
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="narrow models, tiny batches and images, 1-2 batches: the CPU mode CI runs",
    )
    add_out(parser)
    parser.add_argument(
        "--budget-s",
        type=_seconds,
        default=480.0,
        help="start no check that would end past this many seconds",
    )
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    from benchmarks.acceptance.gpu_check import gpu_check

    report, paths = gpu_check(
        args.device,
        tiny=args.tiny,
        out=args.out,
        budget_s=args.budget_s,
        progress=not args.no_progress,
    )
    print(paths[0].read_text())
    print(f"wrote {paths[0]} and {paths[1]}")
    return report.exit_status
