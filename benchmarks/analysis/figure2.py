"""Supplement Figure 2: execution time of Algorithm 1 per batch over |L| and over m.

Left panel: |L| in {2, 3, 4, 5} at m = m' = 20; right panel: m = m' in {5, 10, 20, 50, 100}
at |L| = 3. Each point is the mean over ``trials`` random problems (those of Table 3,
:func:`benchmarks.analysis.table3.draw_problem`) of the wall-clock time of one
``solve_labeling`` call on the 4x4 grid with the paper's defaults otherwise. The growth is the
slope of log(time) against log(|L|) or log(m) fitted by least squares (``numpy.polyfit``).

For |L| > 3 the soft states may mix up to |L| - 1 of an output's inputs: ``mix_candidates`` is
raised to ``max(3, |L| - 1)`` (the default 3, the official code's, would cap |L| = 5 at three).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.analysis.table3 import CONFIG, SIZES, draw_problem, method_generator
from comixup.config import CoMixupConfig
from comixup.solver import solve_labeling

LEVELS = (2, 3, 4, 5)
"""|L| of the left panel."""
LEVELS_M = 20
"""m = m' of the left panel (the paper's partition size)."""
SIZES_LEVELS = 3
"""|L| of the right panel (the paper's)."""
AXES = {"levels": "|L|", "m": "m"}
"""What each panel's x is (panel names avoid "|", which would break Markdown tables)."""


def level_config(n_levels: int) -> CoMixupConfig:
    """The paper's defaults with |L| = ``n_levels`` and room to mix |L| - 1 inputs."""
    return replace(
        CONFIG, n_levels=n_levels, mix_candidates=max(CONFIG.mix_candidates, n_levels - 1)
    )


def time_solver(m: int, config: CoMixupConfig, trials: int, bar: tqdm) -> np.ndarray:
    """Milliseconds of one ``solve_labeling`` call on each of ``trials`` problems (m = m')."""
    cost, A, prior = draw_problem(m, 0)
    solve_labeling(cost, A, m, config, method_generator(0), prior=prior)  # warm-up
    times = []
    for trial in range(trials):
        cost, A, prior = draw_problem(m, trial)
        generator = method_generator(trial)
        start = time.perf_counter()
        solve_labeling(cost, A, m, config, generator, prior=prior)
        times.append((time.perf_counter() - start) * 1e3)
        bar.update()
    return np.array(times)


def run(
    trials: int = 100,
    *,
    levels: tuple[int, ...] = LEVELS,
    sizes: tuple[int, ...] = SIZES,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per point of both panels (``panel`` "levels" or "m", its ``x``): mean, std and
    median milliseconds per call."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}.")
    if not levels or min(levels) < 2:
        raise ValueError(f"levels must be integers >= 2, got {levels}.")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be positive integers, got {sizes}.")
    points = [("levels", n_levels, LEVELS_M, n_levels) for n_levels in levels]
    points += [("m", m, m, SIZES_LEVELS) for m in sizes]
    rows = []
    bar = tqdm(total=len(points) * trials, desc="Figure 2", unit="solve", disable=not progress)
    for panel, x, m, n_levels in points:
        bar.set_postfix_str(f"|L|={n_levels} m={m}")
        times = time_solver(m, level_config(n_levels), trials, bar)
        rows.append(
            {
                "panel": panel,
                "x": x,
                "levels": n_levels,
                "m = m'": m,
                "trials": trials,
                "mean (ms)": times.mean(),
                "std (ms)": times.std(ddof=1) if trials > 1 else 0.0,
                "median (ms)": float(np.median(times)),
            }
        )
    bar.close()
    return pd.DataFrame(rows)


def growth(frame: pd.DataFrame) -> dict[str, float]:
    """Slope of log(mean ms) against log(x) per panel (NaN with fewer than two points)."""
    slopes = {}
    for panel, group in frame.groupby("panel", sort=False):
        if len(group) < 2:
            slopes[panel] = float("nan")
            continue
        slope, _ = np.polyfit(np.log(group["x"]), np.log(group["mean (ms)"]), 1)
        slopes[panel] = float(slope)
    return slopes


def plot(frame: pd.DataFrame, slopes: dict[str, float], path: Path) -> Path:
    """Both panels on log-log axes with error bars (std), saved as a PNG."""
    from matplotlib.figure import Figure  # object-oriented: a file only, no backend switch
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure = Figure(figsize=(9, 3.6), constrained_layout=True)
    axes = figure.subplots(1, 2)
    titles = {"levels": f"m = m' = {LEVELS_M}", "m": f"|L| = {SIZES_LEVELS}"}
    for axis, panel in zip(axes, ("levels", "m"), strict=True):
        group = frame[frame["panel"] == panel]
        axis.errorbar(group["x"], group["mean (ms)"], yerr=group["std (ms)"], marker="o", capsize=3)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(list(group["x"]))
        axis.set_xticklabels([str(int(x)) for x in group["x"]])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("number of levels |L|" if panel == "levels" else "m = m'")
        axis.set_ylabel("time per batch (ms)")
        axis.set_title(f"{titles[panel]}; slope {slopes.get(panel, float('nan')):.2f}")
        axis.grid(True, which="both", alpha=0.3)
    figure.suptitle("Algorithm 1: mean execution time per batch (CPU)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def notes(slopes: dict[str, float], png_name: str) -> str:
    lines = [
        f"![Figure 2]({png_name})",
        "",
        "Mean (std, median) wall-clock milliseconds of one `solve_labeling` call (one batch "
        "of m inputs and m' = m outputs, 4x4 grid, the paper's defaults, uniform random "
        "costs as in Table 3), over the trials, after one untimed warm-up call per point. "
        f"For |L| > 3, mix_candidates = max(3, |L| - 1). Left panel: m = m' = {LEVELS_M}; "
        f"right panel: |L| = {SIZES_LEVELS}. Other jobs on the machine add noise.",
        "",
        "Fitted growth (slope of log time against log x, numpy.polyfit): "
        + ", ".join(f"over {AXES[panel]}: {slope:.2f}" for panel, slope in slopes.items())
        + ".",
    ]
    return "\n".join(lines)
