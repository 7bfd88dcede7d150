"""``comixup-bench robustness`` as one call: select the trained runs, evaluate them, write
``robustness.{md,csv}``, ``localization.{md,csv}`` (mean (std) over seeds) and ``cam_grid.png``.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.evaluation.robustness import Evaluation, Options, evaluate_runs
from benchmarks.evaluation.selection import Selection, select_runs
from benchmarks.runner import tracking


def evaluate_and_write(selection: Selection, options: Options, out: Path) -> list[Path]:
    """Evaluate the runs of ``selection`` as ``options`` say and write the reports to ``out``;
    the paths written.

    Raises:
        ValueError: the selection names no run that can be evaluated (the message says why).
    """
    tracking.connect()
    runs, missing = select_runs(selection)
    evaluation = evaluate_runs(runs, options)
    return write_reports(evaluation, selection, options, out, missing)


def write_reports(
    evaluation: Evaluation, selection: Selection, options: Options, out: Path, missing: str = ""
) -> list[Path]:
    """The robustness and localisation tables of ``evaluation`` and its CAM grid."""
    from benchmarks.data.corruptions import SETS
    from benchmarks.tables.report import write_table
    from benchmarks.tables.robustness import cam_grid, localization_table, robustness_table

    sets, frame, order = list(SETS), evaluation.frame, evaluation.order
    scale = selection.describe()
    smoke = (
        " Smoke scale: the built-in boxed digits (benchmarks/data/boxed_builtin.py) with the "
        "smoke sweep's narrow nets and few batches; it checks the pipeline, its numbers say "
        "nothing about the methods."
        if selection.smoke
        else ""
    )
    common = (
        f"Sets: {', '.join(sets)} (benchmarks/data/corruptions.py: the background outside the "
        f"true boxes replaced by another image's, or Gaussian noise of std 0.1 added; "
        f"corruption seed {options.corruption_seed}). Mean (std) over seeds; the CSV has the "
        "numbers and the MLflow runs (trained and evaluation, experiment 'robustness')." + smoke
    )
    written = []
    shown, numbers = robustness_table(frame, order, sets)
    md, csv = write_table(
        shown,
        "robustness",
        out,
        title=f"Robustness to background corruption (supplement Section 7), {scale}",
        notes=f"Top-1 and top-5 classification error (%). {common} {missing}",
    )
    numbers.to_csv(csv, index=False)
    written += [md, csv]
    shown, numbers = localization_table(frame, order, sets)
    md, csv = write_table(
        shown,
        "localization",
        out,
        title=f"Weakly supervised localisation with CAM, {scale}",
        notes=(
            "Localisation top-1 accuracy (%): the top-1 class is right and the box of the "
            "predicted class's CAM has IoU >= 0.5 with a true box. CAM: the last convolutional "
            "features weighted by the class's classifier weights, summed over 3x3 "
            "neighbourhoods, up-sampled bicubically, min-max normalised; box: the largest "
            f"8-connected region above int({options.threshold} * 255) of its 8-bit copy "
            "(official comix-localization eval.py, util/cam.py, util/bbox_generator.py; "
            f"benchmarks/evaluation/localization.py). {common} {missing}"
        ),
    )
    numbers.to_csv(csv, index=False)
    written += [md, csv]
    if evaluation.examples:
        grid = out / "cam_grid.png"
        cam_grid(
            evaluation.examples,
            grid,
            classes=evaluation.classes,
            title="CAM of the predicted class, clean set, first seed\n"
            "true boxes green, CAM box red (dashed: not localised)",
        )
        written.append(grid)
    return written
