"""The pictures: inputs with their saliency, Co-Mixup's outputs, every mixer side by side.

Inputs are named by letters A, B, ... in batch order; an output's caption lists its sources
by letter with their shares, largest first ("A 52% · F 31% · K 17%"). Built on matplotlib's
object-oriented ``Figure`` (no pyplot, no backend selected), as ``benchmarks.runner.plots``.
"""

from __future__ import annotations

import io
import string
import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure

from benchmarks.figures.mixes import Mix

COLUMNS = 6
"""Images per row of the input and output grids (24 = 4 rows)."""
CELL = 1.75
"""Inches per image."""
DPI = 100
"""175 px per image: the 224-px inputs a little reduced."""
SHOWN_SOURCES = 3
"""Sources named per caption line; more are summed up as "+n"."""
SALIENCY_MAP = "inferno"
SALIENCY_TOP = 0.99
"""A saliency map is shown up to its 99th percentile, so that a few bright pixels (a rocket's
lights) do not leave the rest of it black; the mixers get the maps themselves."""
CHARACTERS_PER_INCH = 13
"""Title characters per inch of figure width, at 9 pt."""


def letter(index: int) -> str:
    """A, B, ..., Z, then AA, AB, ... for larger batches."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letter(index // 26 - 1) + letters[index % 26]


def share_caption(shares: torch.Tensor, limit: int = SHOWN_SOURCES) -> str:
    """ "A 52% · F 31% · K 17%": an output's sources, largest share first (ties by letter)."""
    order = sorted(
        (i for i in range(shares.numel()) if shares[i] > 0), key=lambda i: (-shares[i], i)
    )
    parts = [f"{letter(i)} {shares[i]:.0%}" for i in order[:limit]]
    if len(order) > limit:
        parts.append(f"+{len(order) - limit}")
    return " · ".join(parts)


def _image(axis, image: torch.Tensor) -> None:
    axis.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])


def _grid_lines(axis, size: int, grid: int) -> None:
    for k in range(1, grid):
        position = k * size / grid - 0.5
        axis.axhline(position, color="white", linewidth=0.4, alpha=0.6)
        axis.axvline(position, color="white", linewidth=0.4, alpha=0.6)


def _figure(rows: float, columns: int, header: float) -> Figure:
    return Figure(figsize=(columns * CELL, rows * CELL + header), layout="constrained")


def _save(figure: Figure, path: Path) -> None:
    """The figure as a 256-colour PNG (median cut, Floyd-Steinberg dithering): photographs
    make true-colour PNGs of megabytes each, a third of that with a palette, and the dithered
    pictures look the same at this size."""
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(
            256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
        )
    palette.save(path, format="PNG", optimize=True)


def _title(figure: Figure, text: str, columns: int) -> None:
    width = int(columns * CELL * CHARACTERS_PER_INCH)
    figure.suptitle(textwrap.fill(text, width), fontsize=9)


def _saliency(axis, saliency: torch.Tensor) -> None:
    top = float(torch.quantile(saliency.flatten(), SALIENCY_TOP))
    axis.imshow(saliency.numpy(), cmap=SALIENCY_MAP, vmin=0, vmax=max(top, 1e-12))
    axis.set_xticks([])
    axis.set_yticks([])


def inputs_figure(
    images: torch.Tensor,
    saliency: torch.Tensor,
    names: Sequence[str],
    *,
    title: str,
    grid: int,
    path: Path,
) -> None:
    """Each input (letter and name) above its saliency map, with the labeling grid drawn."""
    batch = images.shape[0]
    rows = -(-batch // COLUMNS)
    figure = _figure(2 * rows, COLUMNS, 0.6)
    axes = figure.subplots(2 * rows, COLUMNS, squeeze=False)
    for index in range(rows * COLUMNS):
        top, bottom = (
            axes[2 * (index // COLUMNS), index % COLUMNS],
            axes[2 * (index // COLUMNS) + 1, index % COLUMNS],
        )
        if index >= batch:
            top.axis("off")
            bottom.axis("off")
            continue
        _image(top, images[index])
        top.set_title(f"{letter(index)}  {names[index]}", fontsize=8)
        _saliency(bottom, saliency[index])
        _grid_lines(bottom, saliency.shape[-1], grid)
    _title(figure, title, COLUMNS)
    _save(figure, path)


def outputs_figure(mix: Mix, *, title: str, path: Path) -> None:
    """A mixer's outputs in batch order, each captioned with its sources and shares."""
    batch = mix.images.shape[0]
    rows = -(-batch // COLUMNS)
    figure = _figure(rows * 1.12, COLUMNS, 0.6)
    axes = figure.subplots(rows, COLUMNS, squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index >= batch:
            axis.axis("off")
            continue
        _image(axis, mix.images[index])
        axis.set_title(share_caption(mix.shares[index]), fontsize=7.5)
    _title(figure, title, COLUMNS)
    _save(figure, path)


def mixers_figure(
    images: torch.Tensor,
    saliency: torch.Tensor,
    mixes: Sequence[Mix],
    *,
    columns: int,
    title: str,
    path: Path,
) -> None:
    """Rows: the first ``columns`` inputs, their saliency, then each mixer's outputs with the
    same indices (for the pairwise mixers, output i is input i mixed with a partner)."""
    shown = min(columns, images.shape[0])
    figure = _figure(2 + len(mixes) * 1.12, shown, 0.7)
    axes = figure.subplots(2 + len(mixes), shown, squeeze=False)
    for column in range(shown):
        _image(axes[0, column], images[column])
        axes[0, column].set_title(f"input {letter(column)}", fontsize=7.5)
        _saliency(axes[1, column], saliency[column])
        for row, mix in enumerate(mixes, start=2):
            _image(axes[row, column], mix.images[column])
            axes[row, column].set_title(share_caption(mix.shares[column]), fontsize=7)
    axes[0, 0].set_ylabel("inputs", fontsize=8)
    axes[1, 0].set_ylabel("saliency", fontsize=8)
    for row, mix in enumerate(mixes, start=2):
        axes[row, 0].set_ylabel(mix.name, fontsize=8)
    _title(figure, title, shown)
    _save(figure, path)
