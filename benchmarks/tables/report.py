"""Writing a table to reports/: Markdown with the command and environment, plus CSV, and the
note that says what a sweep's scale means."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks.environment import environment

SHOWN_ENVIRONMENT = ("python", "platform", "torch", "numpy", "gco-wrapper")
"""What a table's Markdown names beside the command that made it."""


def command_line() -> str:
    """The command as a user would type it."""
    return " ".join(["comixup-bench", *sys.argv[1:]])


def write_table(
    frame: pd.DataFrame,
    name: str,
    out_dir: Path,
    *,
    title: str,
    notes: str = "",
    floatfmt: str = ".4f",
) -> tuple[Path, Path]:
    """Write ``<name>.md`` (title, command, environment, table, notes) and ``<name>.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{name}.csv"
    md_path = out_dir / f"{name}.md"
    frame.to_csv(csv_path, index=False)
    env = ", ".join(f"{key} {value}" for key, value in environment(SHOWN_ENVIRONMENT).items())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# {title}",
        "",
        f"Made by `{command_line()}` on {stamp} ({env}).",
        "",
        frame.to_markdown(index=False, floatfmt=floatfmt),
        "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    md_path.write_text("\n".join(lines))
    return md_path, csv_path


def schedule_words(changes: dict) -> str:
    """``"30 epochs, learning rate down 10x after epochs 10 and 20"`` from a reduced schedule
    (``benchmarks.sweep.experiments.REDUCED`` or an experiment's own)."""
    decays = " and ".join(map(str, changes["milestones"]))
    return f"{changes['epochs']} epochs, learning rate down 10x after epochs {decays}"


def scale_note(scale: str) -> str:
    """What the numbers of a sweep at ``scale`` say (the main, significance and calibration
    tables' note)."""
    if scale == "reduced":
        from benchmarks.sweep.experiments import REDUCED

        return (
            f"Reduced scale: the boxed digits on CPU, trained for {schedule_words(REDUCED)} "
            "(benchmarks/sweep/experiments.py REDUCED); its numbers test the paper's orderings "
            "(reports/README.md), never its CIFAR-100 values."
        )
    if scale == "smoke":
        return (
            "Smoke scale: the built-in digits set on CPU with a narrow net and a few batches "
            "(benchmarks/sweep/experiments.py SMOKE); it checks the pipeline, its numbers say "
            "nothing about the methods."
        )
    return "Paper scale: each dataset's preset in benchmarks/configs."
