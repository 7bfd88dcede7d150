"""Train a named experiment's grid of runs, skipping those already done.

Expands EXPERIMENT into runs (settings x methods x seeds; --scale smoke: the built-in set on
CPU, reduced as benchmarks/sweep/experiments.py SMOKE says), reads each run's state from MLflow
(by the tag holding its key) and launches every run not done: on this machine (--launcher
local, --jobs at a time) or as one Slurm job array through submitit (--launcher slurm; needs
MLFLOW_TRACKING_URI to name an mlflow server). An interrupted or failed run resumes from its
checkpoint into the same MLflow run; rerunning a finished sweep launches nothing.

Examples:
    comixup-bench sweep significance --scale smoke
    comixup-bench sweep significance --scale smoke --status
    comixup-bench sweep main --launcher slurm --slurm-partition gpu --slurm-time 2-00:00:00
    comixup-bench sweep main --launcher slurm --slurm-gpus-per-node 1 --slurm-mem 32G --wait
    comixup-bench sweep main --scale paper --launcher slurm --slurm-gpus-per-node 4  # torchrun x4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands._common import add_command, positive_int
from benchmarks.commands._training import add_set_option
from benchmarks.sweep.experiments import EXPERIMENTS as SWEEP_EXPERIMENTS
from benchmarks.sweep.experiments import SCALES
from benchmarks.sweep.launch import LAUNCHERS


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expects KEY=VALUE (e.g. qos=high), got {text!r}")
    return key.strip(), value


def add_selection(parser: argparse.ArgumentParser, choices=SWEEP_EXPERIMENTS) -> None:
    """EXPERIMENT (when ``choices`` has several), --scale, --seeds and --set: which runs
    (shared with ``table``)."""
    if len(choices) > 1:
        parser.add_argument("experiment", choices=choices, metavar="EXPERIMENT", help="%(choices)s")
    else:
        parser.set_defaults(experiment=choices[0])
    parser.add_argument("--scale", choices=SCALES, default="paper", help="%(choices)s")
    parser.add_argument(
        "--seeds", type=positive_int, help="seeds 0..N-1 (default: the experiment's)"
    )
    add_set_option(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "sweep", __doc__, run)
    add_selection(parser)
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--status", action="store_true", help="list every run's state; run nothing")
    show.add_argument("--dry-run", action="store_true", help="list the runs a launch would start")
    parser.add_argument("--launcher", choices=LAUNCHERS, default="local", help="%(choices)s")
    parser.add_argument("--jobs", type=positive_int, default=1, help="local: runs at a time")
    parser.add_argument(
        "--processes-per-run",
        type=positive_int,
        help="processes per run, under torchrun inside its job: one per GPU "
        "(default: --slurm-gpus-per-node, else 1)",
    )
    parser.add_argument(
        "--checkpoint-root", type=Path, default=Path("checkpoints"), help="checkpoint folder"
    )
    slurm = parser.add_argument_group("slurm launcher (unset: the cluster's defaults)")
    slurm.add_argument("--slurm-partition", help="partition (queue) to submit to")
    slurm.add_argument(
        "--slurm-time",
        default="24:00:00",
        help="time limit per job: MM, HH:MM:SS or D-HH:MM:SS; a run that reaches it is "
        "requeued and resumes from its checkpoint",
    )
    slurm.add_argument("--slurm-gpus-per-node", type=int, help="GPUs per job")
    slurm.add_argument("--slurm-cpus-per-task", type=positive_int, help="CPU cores per job")
    slurm.add_argument("--slurm-mem", help="memory per node, e.g. 32G")
    slurm.add_argument(
        "--slurm-array-parallelism", type=positive_int, help="array tasks running at once"
    )
    slurm.add_argument("--slurm-account", help="account to charge")
    slurm.add_argument(
        "--slurm-setup",
        action="append",
        default=[],
        metavar="LINE",
        help="a shell line run before each job, e.g. 'module load cuda' (repeatable)",
    )
    slurm.add_argument(
        "--slurm-additional",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. qos=high (repeatable)",
    )
    slurm.add_argument(
        "--slurm-folder", type=Path, default=Path("logs/slurm"), help="job scripts and logs"
    )
    slurm.add_argument(
        "--wait", action="store_true", help="wait for the array to end and report each run"
    )


def run(args: argparse.Namespace) -> int:
    from benchmarks.sweep import grid, launch

    processes = args.processes_per_run or (
        args.slurm_gpus_per_node if args.launcher == "slurm" and args.slurm_gpus_per_node else 1
    )
    slurm = launch.SlurmOptions(
        partition=args.slurm_partition,
        time=args.slurm_time,
        gpus_per_node=args.slurm_gpus_per_node,
        cpus_per_task=args.slurm_cpus_per_task,
        mem=args.slurm_mem,
        array_parallelism=args.slurm_array_parallelism,
        account=args.slurm_account,
        setup=args.slurm_setup,
        additional=dict(args.slurm_additional),
    )
    how = grid.Launch(
        launcher=args.launcher,
        jobs=args.jobs,
        processes=processes,
        checkpoint_root=args.checkpoint_root,
        slurm=slurm,
        slurm_folder=args.slurm_folder,
        wait=args.wait,
    )
    show = "status" if args.status else "dry-run" if args.dry_run else None
    try:
        return grid.sweep(
            args.experiment,
            scale=args.scale,
            seeds=args.seeds,
            overrides=args.set or (),
            show=show,
            how=how,
        )
    except ValueError as error:
        print(f"comixup-bench sweep: {error}", file=sys.stderr)
        return 2
