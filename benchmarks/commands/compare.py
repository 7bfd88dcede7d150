"""Train every method on one configuration and print the comparison table.

The main job: every registered method on the same data, model and schedule (``--jobs N``: N at
a time); writes reports/compare-<dataset>.md. The default set, boxed-digits (digits
pasted on photographs, made offline on first use), is the built-in set on which the methods
differ by more than their seeds do (reports/datasets.md).

Examples:
    comixup-bench compare
    comixup-bench compare --dataset builtin --epochs 2 --limit-batches 5
    comixup-bench compare --dataset cifar100 --methods vanilla cutmix comixup
    comixup-bench compare --methods cutmix comixup --set cutmix.alpha=0.2 --set comixup.tau=0.8
"""

from __future__ import annotations

import argparse

from benchmarks.commands import _training
from benchmarks.commands._common import add_command, add_name_list, add_no_progress, add_out
from benchmarks.errors import user_input
from benchmarks.methods import METHODS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "compare", __doc__, run)
    # The boxed digits separate the methods where the plain digits do not (reports/datasets.md).
    _training.add_run_options(parser, dataset="boxed-digits")
    add_name_list(parser, "--methods", METHODS, metavar="METHOD", what="the methods to train")
    _training.add_fresh_option(parser, resume=False)
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="methods trained at a time, each in its own process with its share of the cores "
        "(default: %(default)s, one after the other with all of them)",
    )
    add_out(parser)
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    from benchmarks.sweep import compare
    from benchmarks.tables.report import write_table

    with user_input():  # a refused override is the user's to fix
        config, settings = _training.methods_config(args, args.methods)
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}.")
    jobs = args.jobs
    frame, results = compare.compare(
        config,
        args.methods,
        settings=settings,
        progress=not args.no_progress,
        resume=not args.fresh,
        jobs=jobs,
    )
    md_path, _ = write_table(
        frame,
        f"compare-{config.dataset}",
        args.out,
        title=f"Method comparison on {config.dataset}",
        notes=compare.notes(config, results, jobs) + compare.median_note(frame),
        floatfmt=".3f",
    )
    print(md_path.read_text())
    return 0
