"""Supplement Figures 3-5: reliability diagrams of every method, ``reliability_<dataset>.png``.

Each diagram pools a method's seeds: per confidence bin, the accuracy (bars) against the bin's
mean confidence (the gap shaded; below the diagonal is over-confident), and the number of
predictions per bin underneath.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.prediction_file import Predictions
from benchmarks.tables.calibration_error import N_BINS, reliability_bins


def reliability_figure(
    title: str, panels: Sequence[tuple[str, Predictions | None, list[float]]], path: Path
) -> Path:
    """One reliability diagram per (method, pooled predictions, ECEs % per seed) of
    ``panels``, three to a row, each over a bar chart of the predictions per bin."""
    from matplotlib.figure import Figure  # object-oriented: a file only, no backend switch

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(4.2 * columns, 5.2 * rows), constrained_layout=True)
    grid = figure.add_gridspec(2 * rows, columns, height_ratios=[3, 1] * rows)
    width = 1 / N_BINS
    for index, (method, pooled, eces) in enumerate(panels):
        row, column = divmod(index, columns)
        top = figure.add_subplot(grid[2 * row, column])
        bottom = figure.add_subplot(grid[2 * row + 1, column], sharex=top)
        top.plot([0, 1], [0, 1], color="0.4", linestyle="--", linewidth=1, label="calibrated")
        if pooled is None:
            top.set_title(f"{method}\nno run with predictions\n", fontsize=9)
            top.text(0.5, 0.5, "no predictions.npz", ha="center", va="center", color="0.4")
        else:
            bins = reliability_bins(pooled.confidence, pooled.correct)
            filled = bins[bins["count"] > 0]
            centres = filled["low"] + width / 2
            top.bar(centres, filled["accuracy"], width=width, color="tab:blue", alpha=0.8,
                    edgecolor="black", linewidth=0.5, label="accuracy")  # fmt: skip
            gap = filled["confidence"] - filled["accuracy"]
            top.bar(centres, gap, bottom=filled["accuracy"], width=width, color="tab:red",
                    alpha=0.3, edgecolor="tab:red", hatch="//", linewidth=0.5,
                    label="gap to mean confidence")  # fmt: skip
            over = 100 * (pooled.confidence.mean() - pooled.correct.mean())
            seeds = f"{len(eces)} seed{'s' if len(eces) != 1 else ''}"
            top.set_title(
                f"{method}\nECE {np.mean(eces):.2f}% ({seeds})\n"
                f"mean confidence \u2212 accuracy {over:+.1f} pts",
                fontsize=9,
            )
            bottom.bar(centres, filled["count"], width=width, color="0.5", edgecolor="black",
                       linewidth=0.5)  # fmt: skip
            for x, count in zip(centres, filled["count"], strict=True):
                bottom.annotate(f"{count}", (x, count), ha="center", va="bottom", fontsize=6)
            bottom.set_ylim(0, filled["count"].max() * 1.35)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_ylabel("accuracy")
        top.grid(alpha=0.3)
        top.tick_params(labelbottom=False)
        bottom.set_xlabel("confidence (top-1 probability)")
        bottom.set_ylabel("predictions")
        if index == 0:
            top.legend(loc="upper left", fontsize=7)
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
