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
from benchmarks.sweep.experiments import SCALES

ROBUSTNESS_EXPERIMENTS = ("main", "datasets")
"""The sweeps with settings on a set with boxes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "robustness", __doc__, run)
    parser.add_argument("--run-id", nargs="+", metavar="ID", help="MLflow runs to evaluate")
    parser.add_argument(
        "--experiment",
        choices=ROBUSTNESS_EXPERIMENTS,
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
    try:
        paths = evaluate(args)
    except ValueError as error:
        print(f"comixup-bench robustness: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


def evaluate(args: argparse.Namespace) -> list[Path]:
    import mlflow
    import pandas as pd
    import torch

    from benchmarks.data.corruptions import SETS
    from benchmarks.evaluation import robustness
    from benchmarks.evaluation.robustness import spread_indices
    from benchmarks.runner import tracking

    uri = tracking.tracking_uri()
    tracking.check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    runs, missing = select_runs(args)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tags = tracking.environment_tags(device)
    rows, examples, classes, sets_by_dataset = [], {}, None, {}
    for run in runs:
        model, params = robustness.load_model(run.run_id, checkpoint_root=args.checkpoints)
        dataset = params["dataset"]
        if dataset not in sets_by_dataset:
            sets_by_dataset[dataset] = robustness.corrupted_sets(
                dataset,
                args.data_dir,
                boxes_dir=args.boxes_dir,
                out_dir=args.corrupted_dir,
                seed=args.corruption_seed,
            )
        evaluation_sets = sets_by_dataset[dataset]
        clean = evaluation_sets["clean"]
        keep = [] if run.method in examples else spread_indices(args.examples, len(clean))
        results = {
            name: robustness.evaluate_set(
                model,
                data,
                training_set=dataset,
                device=device,
                batch_size=args.batch_size,
                threshold=args.threshold,
                examples=keep if name == "clean" else (),
            )
            for name, data in evaluation_sets.items()
        }
        eval_id = robustness.log_evaluation(
            run, results, _logged_params(args, evaluation_sets), tags
        )
        print(f"{run.setting} {run.method} seed {run.seed}: {_summary(results)}")
        if keep:
            examples[run.method] = results["clean"].examples
            classes = clean.classes
        for name, result in results.items():
            rows.append(
                {
                    "setting": run.setting, "method": run.method, "seed": run.seed,
                    "run_id": run.run_id, "eval_run_id": eval_id, "set": name,
                    "top1_error": result.top1_error, "top5_error": result.top5_error,
                    "loc_top1": result.loc_top1, "images": result.images,
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    order = list(dict.fromkeys((run.setting, run.method) for run in runs))
    return _write(args, frame, order, list(SETS), examples, classes, missing)


def select_runs(args: argparse.Namespace):
    """The trained runs to evaluate, in table order, and a note naming the sweep's runs that
    are missing or unfinished."""
    from mlflow.tracking import MlflowClient

    from benchmarks.data import BOXED_DATASETS
    from benchmarks.evaluation.robustness import TrainedRun, trained_run
    from benchmarks.sweep.experiments import expand, get_experiment
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.sweep_runs import finished, missing_note

    if args.run_id:
        client = MlflowClient()
        return [trained_run(client, run_id) for run_id in args.run_id], ""
    name = args.experiment
    experiment = get_experiment(name)
    settings = experiment.settings_at(args.scale)
    boxed = [s.name for s in settings if s.dataset in BOXED_DATASETS]
    if not boxed:
        raise ValueError(
            f"the {name} sweep has no setting on a set with boxes ({', '.join(BOXED_DATASETS)}) "
            f"at --scale {args.scale}; pass --run-id of runs trained on one."
        )
    states = [
        s
        for s in run_states(
            expand(name, scale=args.scale, seeds=args.seeds, overrides=args.set or ())
        )
        if s.run.setting in boxed
    ]
    done = finished(states)
    if done.empty:
        raise ValueError(
            f"no finished run of the {name} sweep on {', '.join(boxed)} at --scale "
            f"{args.scale}; train them first: comixup-bench sweep {name} --scale {args.scale}."
        )
    rank = {method: i for i, method in enumerate(experiment.methods)}
    done = done.sort_values(
        ["setting", "method", "seed"], key=lambda c: c.map(rank) if c.name == "method" else c
    )
    runs = [
        TrainedRun(row.run_id, row.setting, row.method, int(row.seed)) for row in done.itertuples()
    ]
    return runs, missing_note(states)


def _logged_params(args: argparse.Namespace, sets: dict) -> dict[str, str]:
    from benchmarks.evaluation.localization import IOU_THRESHOLD, SMOOTHING

    return {
        "cam_threshold": str(args.threshold),
        "iou_threshold": str(IOU_THRESHOLD),
        "cam_smoothing": str(SMOOTHING),
        "corruption_seed": str(args.corruption_seed),
        **{f"set.{name}": str(data.root) for name, data in sets.items()},
    }


def _summary(results: dict) -> str:
    return ", ".join(
        f"{name} top-1 err {r.top1_error:.1f}% loc top-1 {r.loc_top1:.1f}%"
        for name, r in results.items()
    )


def _write(args, frame, order, sets, examples, classes, missing) -> list[Path]:
    from benchmarks.tables.report import write_table
    from benchmarks.tables.robustness import cam_grid, localization_table, robustness_table

    scale = "the given runs" if args.run_id else f"the {args.experiment} sweep, {args.scale} scale"
    smoke = (
        " Smoke scale: the built-in boxed digits (benchmarks/data/boxed_builtin.py) with the "
        "smoke sweep's narrow nets and few batches; it checks the pipeline, its numbers say "
        "nothing about the methods."
        if not args.run_id and args.scale == "smoke"
        else ""
    )
    common = (
        f"Sets: {', '.join(sets)} (benchmarks/data/corruptions.py: the background outside the "
        f"true boxes replaced by another image's, or Gaussian noise of std 0.1 added; "
        f"corruption seed {args.corruption_seed}). Mean (std) over seeds; the CSV has the "
        "numbers and the MLflow runs (trained and evaluation, experiment 'robustness')." + smoke
    )
    written = []
    shown, numbers = robustness_table(frame, order, sets)
    md, csv = write_table(
        shown,
        "robustness",
        args.out,
        title=f"Robustness to background corruption (supplement Section 7), {scale}",
        notes=f"Top-1 and top-5 classification error (%). {common} {missing}",
    )
    numbers.to_csv(csv, index=False)
    written += [md, csv]
    shown, numbers = localization_table(frame, order, sets)
    md, csv = write_table(
        shown,
        "localization",
        args.out,
        title=f"Weakly supervised localisation with CAM, {scale}",
        notes=(
            "Localisation top-1 accuracy (%): the top-1 class is right and the box of the "
            "predicted class's CAM has IoU >= 0.5 with a true box. CAM: the last convolutional "
            "features weighted by the class's classifier weights, summed over 3x3 "
            "neighbourhoods, up-sampled bicubically, min-max normalised; box: the largest "
            f"8-connected region above int({args.threshold} * 255) of its 8-bit copy (official "
            "comix-localization eval.py, util/cam.py, util/bbox_generator.py; "
            f"benchmarks/evaluation/localization.py). {common} {missing}"
        ),
    )
    numbers.to_csv(csv, index=False)
    written += [md, csv]
    if examples:
        grid = args.out / "cam_grid.png"
        cam_grid(
            examples,
            grid,
            classes=classes,
            title="CAM of the predicted class, clean set, first seed\n"
            "true boxes green, CAM box red (dashed: not localised)",
        )
        written.append(grid)
    return written
