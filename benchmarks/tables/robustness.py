"""Supplement Section 7 from evaluated runs: the robustness table (top-1 / top-5 error on the
clean set and each background-corrupted set), the localisation table (localisation top-1
accuracy on each set) and the CAM grid, each per setting and method as mean (std) over seeds.

Both tables read one tidy frame, a row per (trained run, set): setting, method, seed, run_id,
eval_run_id, set, top1_error, top5_error, loc_top1 (percent).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from benchmarks.tables.main_table import mean_std

ROBUSTNESS_COLUMNS = (("top1_error", "top-1 err"), ("top5_error", "top-5 err"))
LOCALIZATION_COLUMNS = (("loc_top1", "loc top-1 acc"),)


def _table(
    frame: pd.DataFrame,
    order: Sequence[tuple[str, str]],
    sets: Sequence[str],
    columns: Sequence[tuple[str, str]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    shown, numbers = [], []
    for setting, method in order:
        cell = frame[(frame["setting"] == setting) & (frame["method"] == method)]
        row = {"setting": setting, "method": method}
        number = dict(row)
        for name in sets:
            part = cell[cell["set"] == name].sort_values("seed")
            for column, title in columns:
                values = part[column].astype(float)
                row[f"{name} {title} (%)"] = mean_std(values) if len(values) else "-"
                number[f"{name} {column} mean"] = values.mean() if len(values) else float("nan")
                number[f"{name} {column} std"] = (
                    values.std(ddof=1) if len(values) > 1 else float("nan")
                )
        seeds = sorted(set(cell["seed"]))
        row["seeds"] = number["seeds"] = len(seeds)
        number["seed list"] = " ".join(str(s) for s in seeds)
        number["MLflow runs"] = " ".join(dict.fromkeys(cell["run_id"]))
        number["evaluation runs"] = " ".join(dict.fromkeys(cell["eval_run_id"]))
        shown.append(row)
        numbers.append(number)
    return pd.DataFrame(shown), pd.DataFrame(numbers)


def robustness_table(
    frame: pd.DataFrame, order: Sequence[tuple[str, str]], sets: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Markdown frame, CSV frame): per (setting, method) of ``order``, top-1 and top-5 error
    on each of ``sets``, mean (std) over seeds; the CSV has the numbers and the run ids."""
    return _table(frame, order, sets, ROBUSTNESS_COLUMNS)


def localization_table(
    frame: pd.DataFrame, order: Sequence[tuple[str, str]], sets: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As :func:`robustness_table`, for localisation top-1 accuracy."""
    return _table(frame, order, sets, LOCALIZATION_COLUMNS)


def _draw_box(axis, box, color: str, style: str = "-") -> None:
    x0, y0, x1, y1 = (float(v) for v in box)
    # Boxes are pixel edges; imshow puts pixel i's centre at i, so its edges at i -/+ 0.5.
    axis.add_patch(
        Rectangle(
            (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0,
            fill=False, edgecolor=color, linewidth=2, linestyle=style,
        )
    )  # fmt: skip


def cam_grid(examples: dict[str, list], path: Path, *, classes: Sequence[str], title: str) -> None:
    """One row per method (its first seed's examples of the clean set, the same images in
    every row): each image with its CAM over it (jet, half transparent), the true boxes in
    green and the CAM box in red (dashed where localisation top-1 fails); the first row shows
    the images and their true boxes alone."""
    methods = list(examples)
    count = max((len(v) for v in examples.values()), default=0)
    if not methods or count == 0:
        raise ValueError("no examples to draw; evaluate at least one run with examples > 0.")
    figure = Figure(figsize=(1.6 * count + 1.2, 1.7 * (len(methods) + 1) + 0.4))
    axes = figure.subplots(len(methods) + 1, count, squeeze=False)
    first = examples[methods[0]]
    for column, example in enumerate(first):
        axis = axes[0, column]
        axis.imshow(example.image.permute(1, 2, 0).clamp(0, 1).numpy())
        for box in example.true_boxes:
            _draw_box(axis, box, "lime")
        axis.set_title(f"true: {classes[example.label]}", fontsize=8)
    axes[0, 0].set_ylabel("image", fontsize=9)
    for row, method in enumerate(methods, start=1):
        for column, example in enumerate(examples[method]):
            axis = axes[row, column]
            axis.imshow(example.image.permute(1, 2, 0).clamp(0, 1).numpy())
            axis.imshow(example.heatmap.numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            for box in example.true_boxes:
                _draw_box(axis, box, "lime")
            _draw_box(axis, example.box, "red", "-" if example.localized else "--")
            mark = "ok" if example.predicted == example.label else "wrong"
            axis.set_title(f"pred {classes[example.predicted]} ({mark})", fontsize=8)
        axes[row, 0].set_ylabel(method, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
