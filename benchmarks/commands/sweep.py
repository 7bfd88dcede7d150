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
import time
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
    try:
        return _run(args)
    except ValueError as error:
        print(f"comixup-bench sweep: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from benchmarks.runner import tracking
    from benchmarks.sweep import launch
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import DONE, run_states

    runs = expand(args.experiment, scale=args.scale, seeds=args.seeds, overrides=args.set or ())
    reads = get_experiment(args.experiment).runs_of
    if reads:
        print(f"{args.experiment} trains no runs of its own: it reads {reads}'s runs of its "
              f"settings ({', '.join(sorted({run.setting for run in runs}))}).")  # fmt: skip
    uri = tracking.tracking_uri()
    if args.launcher == "slurm":
        launch.check_cluster_tracking(uri)
    tracking.check_reachable(uri)
    import mlflow

    mlflow.set_tracking_uri(uri)
    states = run_states(runs)
    if args.status or args.dry_run:
        print(status_table(states, launching=args.dry_run))
        return 0
    todo = [state.run for state in states if state.state != DONE]
    if not todo:
        print(f"nothing to launch: all {len(runs)} runs of {args.experiment} are done.")
        return 0
    print(f"launching {len(todo)} of {len(runs)} runs of {args.experiment} ({args.launcher}).")
    failures: list[str] = []

    def report(run, outcome, error) -> None:
        if error is None:
            median = outcome.metrics.get("test_top1_error_median_last10")
            error_text = "" if median is None else f", {median:.2f}%"  # a timing run has none
            print(f"done    {run.cell} seed {run.seed}: run {outcome.run_id}{error_text}")
        else:
            failures.append(run.key)
            print(f"FAILED  {run.cell} seed {run.seed}: {type(error).__name__}: {error}")

    started = time.perf_counter()
    processes = args.processes_per_run or (
        args.slurm_gpus_per_node if args.launcher == "slurm" and args.slurm_gpus_per_node else 1
    )
    common = {"checkpoint_root": args.checkpoint_root, "tracking_uri": uri, "processes": processes}
    if args.launcher == "local":
        launch.launch_local(todo, jobs=args.jobs, report=report, **common)
    else:
        options = launch.SlurmOptions(
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
        name = f"comixup-{args.experiment}"
        jobs = launch.submit_slurm(todo, options, folder=args.slurm_folder, name=name, **common)
        print(f"submitted Slurm job array {jobs[0].job_id.split('_')[0]} ({len(jobs)} tasks).")
        if not args.wait:
            print(f"follow it with: comixup-bench sweep {args.experiment} --status")
            return 0
        launch.wait_slurm(todo, jobs, report)
    print(f"{len(todo) - len(failures)} done, {len(failures)} failed, "
          f"{time.perf_counter() - started:.0f} s.")  # fmt: skip
    return 1 if failures else 0


def status_table(states, *, launching: bool) -> str:
    import pandas as pd

    from benchmarks.sweep.state import DONE

    variants = any(s.run.changes for s in states)
    rows = [
        {
            "setting": s.run.setting,
            "method": s.run.method,
            **({"variant": ", ".join(s.run.changes)} if variants else {}),
            "seed": s.run.seed,
            "state": s.state,
            "MLflow run": s.run_id or "",
            "error": (s.error or "")[:60] if s.state != DONE else "",
        }
        for s in states
    ]
    frame = pd.DataFrame(rows)
    done = sum(s.state == DONE for s in states)
    head = f"{done} of {len(states)} runs done"
    if launching:
        head += f"; a launch would start the other {len(states) - done}"
    return head + ".\n" + frame.to_string(index=False)
