"""The ``comixup-bench`` command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks.cli_speech import add_speech_commands

REPORTS = Path("reports")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _table2(args: argparse.Namespace) -> int:
    from benchmarks.tables import table2
    from benchmarks.tables.report import write_table

    frame = table2.run(seeds=args.seeds, progress=not args.no_progress)
    md_path, csv_path = write_table(
        frame,
        "table2",
        args.out,
        title="Table 2: Algorithm 1 vs exact brute force and random guess",
        notes=table2.NOTES,
    )
    print(md_path.read_text())
    print(f"wrote {md_path} and {csv_path}")
    return 0


def _show_section(section) -> int:
    print(section.files[0].read_text())
    print(f"wrote {', '.join(str(path) for path in section.files)}")
    print(f"MLflow run {section.run_id} (experiment 'analysis')")
    return 0


def _table3(args: argparse.Namespace) -> int:
    from benchmarks.tables import analysis
    from benchmarks.tracking import setup_tracking

    setup_tracking(analysis.EXPERIMENT)  # fail fast on an unreachable server
    section = analysis.run_table3(
        seeds=args.seeds, sizes=args.sizes, out=args.out, progress=not args.no_progress
    )
    return _show_section(section)


def _table4(args: argparse.Namespace) -> int:
    from benchmarks.tables import analysis
    from benchmarks.tracking import setup_tracking

    setup_tracking(analysis.EXPERIMENT)
    section = analysis.run_table4(
        seeds=args.seeds, sizes=args.sizes, out=args.out, progress=not args.no_progress
    )
    return _show_section(section)


def _figure2(args: argparse.Namespace) -> int:
    from benchmarks.tables import analysis, figure2
    from benchmarks.tracking import setup_tracking

    setup_tracking(analysis.EXPERIMENT)
    section = analysis.run_figure2(
        trials=args.trials,
        levels=args.levels,
        sizes=args.sizes,
        out=args.out,
        progress=not args.no_progress,
    )
    _show_section(section)
    for panel, slope in section.extra.items():
        print(f"fitted growth over {figure2.AXES[panel]}: slope {slope:.3f} (log-log)")
    return 0


def _analysis(args: argparse.Namespace) -> int:
    from benchmarks.tables import analysis
    from benchmarks.tracking import setup_tracking

    setup_tracking(analysis.EXPERIMENT)
    path, sections = analysis.run_analysis(
        seeds=args.seeds,
        trials=args.trials,
        sizes=args.sizes,
        levels=args.levels,
        out=args.out,
        progress=not args.no_progress,
    )
    print(path.read_text())
    for section in sections:
        print(f"{section.name}: MLflow run {section.run_id}")
    print(f"wrote {path}")
    return 0


def _add_analysis_commands(commands) -> None:
    """table3, table4, figure2 and analysis: the supplement's algorithm analysis."""
    from benchmarks.tables import figure2, table3

    def common(parser, *, seeds: bool, trials: bool, levels: bool) -> None:
        if seeds:
            parser.add_argument(
                "--seeds", type=_positive_int, default=100, help="problems per size (100)"
            )
        if trials:
            parser.add_argument(
                "--trials", type=_positive_int, default=100, help="timed solves per point (100)"
            )
        parser.add_argument(
            "--sizes",
            type=_positive_int,
            nargs="+",
            default=list(table3.SIZES),
            help="m = m' values (default 5 10 20 50 100)",
        )
        if levels:
            parser.add_argument(
                "--levels",
                type=_level,
                nargs="+",
                default=list(figure2.LEVELS),
                help="|L| values of Figure 2's left panel (default 2 3 4 5)",
            )
        parser.add_argument("--out", type=Path, default=REPORTS, help="output folder")
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")

    table3_parser = commands.add_parser(
        "table3",
        help="supplement Table 3: f of Algorithm 1, Narasimhan-Bilmes and random guess",
        description="Mean (std) f over random problems with m = m' in --sizes (4x4 grid, "
        "paper defaults); writes reports/table3.{md,csv} and one MLflow run.",
    )
    common(table3_parser, seeds=True, trials=False, levels=False)
    table3_parser.set_defaults(handler=_table3)

    table4_parser = commands.add_parser(
        "table4",
        help="supplement Table 4: convergence time of Algorithm 1 and Narasimhan-Bilmes",
        description="Mean seconds until each algorithm stops on Table 3's problems; writes "
        "reports/table4.{md,csv} and one MLflow run.",
    )
    common(table4_parser, seeds=True, trials=False, levels=False)
    table4_parser.set_defaults(handler=_table4)

    figure2_parser = commands.add_parser(
        "figure2",
        help="supplement Figure 2: Algorithm 1's time per batch over |L| and over m",
        description="Mean ms per solve over --trials problems, over |L| (m = 20) and over m "
        "(|L| = 3), with the fitted log-log slopes; writes reports/figure2.{png,csv,md}.",
    )
    common(figure2_parser, seeds=False, trials=True, levels=True)
    figure2_parser.set_defaults(handler=_figure2)

    analysis_parser = commands.add_parser(
        "analysis",
        help="Tables 2, 3, 4 and Figure 2 in one go, with reports/analysis.md",
        description="Runs the whole algorithm analysis and writes reports/analysis.md with "
        "the environment (CPU, threads, versions) the timings were taken on.",
    )
    common(analysis_parser, seeds=True, trials=True, levels=True)
    analysis_parser.set_defaults(handler=_analysis)


def _level(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"|L| must be at least 2, got {value}")
    return value


def _train_config(args: argparse.Namespace):
    from benchmarks.configs import apply_overrides, preset

    config = preset(args.dataset)
    assignments = list(args.set or [])
    for flag, key in (
        ("model", "model"),
        ("epochs", "epochs"),
        ("limit_batches", "limit_batches"),
        ("seed", "seed"),
        ("patience", "patience"),
        ("data_dir", "data_dir"),
        ("width", "width"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            assignments.insert(0, f"{key}={json.dumps(value)}")
    if getattr(args, "method", None):
        assignments.insert(0, f"method={json.dumps(args.method)}")
    if args.download:
        assignments.append("download=true")
    if args.amp:
        assignments.append("amp=true")
    return apply_overrides(config, assignments)


def _train(args: argparse.Namespace) -> int:
    from benchmarks.train import checkpoint_path, train

    config = _train_config(args)
    path = checkpoint_path(config)
    if args.resume and not path.exists():
        raise SystemExit(f"--resume: no checkpoint for this configuration at {path}.")
    result = train(config, resume=not args.fresh, progress=not args.no_progress)
    if not result.run_id:  # a non-zero rank under torchrun: rank 0 reports
        return 0
    shown = {key: round(value, 4) for key, value in result.metrics.items() if "time_" not in key}
    print(f"MLflow run {result.run_id}: {shown}")
    print(f"checkpoint: {result.checkpoint_path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from benchmarks.compare import compare
    from benchmarks.tables.report import write_table

    config = _train_config(args)
    methods = args.methods or None
    frame, _ = compare(
        config,
        **({"methods": methods} if methods else {}),
        progress=not args.no_progress,
        resume=not args.fresh,
    )
    limit = f", {config.limit_batches} batches/epoch" if config.limit_batches else ""
    notes = (
        f"Each method trained {config.model} (width {config.width or 'paper'}) on "
        f"{config.dataset} for {config.epochs} epochs (batch {config.batch_size}, lr "
        f"{config.lr}, seed {config.seed}{limit}); the runs are in the MLflow store "
        "(`mlflow ui --backend-store-uri sqlite:///mlflow.db`)."
    )
    md_path, _ = write_table(
        frame,
        f"compare-{config.dataset}",
        args.out,
        title=f"Method comparison on {config.dataset}",
        notes=notes,
        floatfmt=".3f",
    )
    print(md_path.read_text())
    return 0


def _timing(args: argparse.Namespace) -> int:
    import dataclasses

    import mlflow
    import torch

    from benchmarks.methods import METHOD_NAMES
    from benchmarks.tables import timing
    from benchmarks.tables.report import write_table
    from benchmarks.tracking import environment_tags, setup_tracking

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    setup = timing.default_setup(device)
    changes = {
        key: value
        for key, value in {
            "model": args.model,
            "width": args.width,
            "batch_size": args.batch_size,
            "batches": args.batches,
            "warmup": args.warmup,
        }.items()
        if value is not None
    }
    setup = dataclasses.replace(setup, **changes)
    setup_tracking("timing")  # fail fast on an unreachable server, before timing anything
    frame, ratios = timing.run(
        setup, device, tuple(args.methods or METHOD_NAMES), progress=not args.no_progress
    )
    md_path, csv_path = write_table(
        frame,
        "timing",
        args.out,
        title="Time per training batch by method and phase",
        notes=timing.notes(setup, device, ratios),
        floatfmt=".2f",
    )
    with mlflow.start_run(run_name=f"timing-{device.type}"):
        mlflow.log_params({key: str(value) for key, value in dataclasses.asdict(setup).items()})
        mlflow.set_tags(environment_tags(device))
        mlflow.log_metrics({key.replace("/", "_over_"): value for key, value in ratios.items()})
        mlflow.log_artifact(str(md_path))
        mlflow.log_artifact(str(csv_path))
    print(md_path.read_text())
    return 0


def _prepare_tiny_imagenet(args: argparse.Namespace) -> int:
    from benchmarks.data import prepare_tiny_imagenet

    moved = prepare_tiny_imagenet(args.data_dir)
    print(f"moved {moved} validation images into class folders under {args.data_dir}/val")
    return 0


def _add_training_arguments(parser: argparse.ArgumentParser, *, method: bool) -> None:
    from benchmarks.configs import PRESETS

    parser.add_argument(
        "--dataset",
        default="builtin",
        choices=sorted(PRESETS),
        help="dataset (its preset gives the paper's schedule)",
    )
    parser.add_argument("--model", help="model name (default: the preset's)")
    if method:
        parser.add_argument("--method", required=True, help="method name")
    parser.add_argument("--data-dir", help="dataset folder")
    parser.add_argument("--epochs", type=_positive_int)
    parser.add_argument("--limit-batches", type=_positive_int, help="batches per epoch")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--width", type=_positive_int, help="model width (first stage)")
    parser.add_argument("--patience", type=_positive_int, help="early stopping patience")
    parser.add_argument("--download", action="store_true", help="download missing data")
    parser.add_argument("--amp", action="store_true", help="native mixed precision")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override any config field; method.<field> for the method",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comixup-bench",
        description="Reproduce the Co-Mixup paper's tables and compare mixup methods.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    table2 = commands.add_parser(
        "table2",
        help="supplement Table 2: solver vs brute force vs random guess on tiny problems",
        description="Algorithm 1 against exact brute force and random guess (supplement "
        "Table 2), for normalised and un-normalised costs; writes reports/table2.{md,csv}.",
    )
    table2.add_argument("--seeds", type=_positive_int, default=100, help="problems per row")
    table2.add_argument("--out", type=Path, default=REPORTS, help="output folder")
    table2.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    table2.set_defaults(handler=_table2)
    _add_analysis_commands(commands)
    add_speech_commands(commands)

    train = commands.add_parser(
        "train",
        help="train one method on one dataset, logged to MLflow (resumable)",
        description="Train one method; rerunning the same command resumes from its checkpoint.",
    )
    _add_training_arguments(train, method=True)
    train.add_argument(
        "--resume", action="store_true", help="require a checkpoint and continue its MLflow run"
    )
    train.set_defaults(handler=_train)

    compare = commands.add_parser(
        "compare",
        help="train every method on one configuration and print the comparison table",
        description="The main job: every registered method on the same data, model and "
        "schedule; writes reports/compare-<dataset>.md.",
    )
    _add_training_arguments(compare, method=False)
    compare.add_argument("--methods", nargs="+", help="a subset of the methods")
    compare.add_argument("--out", type=Path, default=REPORTS, help="output folder")
    compare.set_defaults(handler=_compare)

    timing_parser = commands.add_parser(
        "timing",
        help="per-batch training time of every method on this device, by phase",
        description="Time one training step of every method side by side (GPU when present) "
        "and compare the ratios with the supplement's; writes reports/timing.{md,csv}.",
    )
    timing_parser.add_argument("--model", help="model name (default preactresnet18)")
    timing_parser.add_argument("--width", type=_positive_int, help="model width")
    timing_parser.add_argument("--batch-size", type=_positive_int, help="default 100")
    timing_parser.add_argument("--batches", type=_positive_int, help="timed batches")
    timing_parser.add_argument("--warmup", type=int, help="untimed warm-up batches")
    timing_parser.add_argument("--methods", nargs="+", help="a subset of the methods")
    timing_parser.add_argument("--out", type=Path, default=REPORTS, help="output folder")
    timing_parser.add_argument("--no-progress", action="store_true", help="hide progress")
    timing_parser.set_defaults(handler=_timing)

    prepare = commands.add_parser(
        "prepare-tiny-imagenet",
        help="move Tiny-ImageNet's validation images into class folders",
    )
    prepare.add_argument("--data-dir", required=True, help="the tiny-imagenet-200 folder")
    prepare.set_defaults(handler=_prepare_tiny_imagenet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
