"""The main table from a sweep's runs: per setting and method, mean (std) over seeds of the
median of the last 10 epochs' test top-1 error (the paper's statistic), the last and best
epochs beside it, and the number of seeds; the CSV adds the numbers unformatted and every
cell's MLflow run ids."""

from __future__ import annotations

import pandas as pd

STATISTICS = (
    ("median10", "top-1 error, median last 10 (%)"),
    ("last", "last (%)"),
    ("best", "best (%)"),
)


def mean_std(values: pd.Series) -> str:
    """``mean (std)``; the std needs two seeds, else a dash."""
    std = values.std(ddof=1)
    return f"{values.mean():.2f} ({'-' if pd.isna(std) else f'{std:.2f}'})"


def main_table(
    runs: pd.DataFrame, order: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the Markdown frame, the CSV frame) from the tidy finished runs, one row per
    (setting, method) of ``order``; a cell without a finished run shows 0 seeds."""
    shown, numbers = [], []
    for setting, method in order:
        cell = runs[(runs["setting"] == setting) & (runs["method"] == method)].sort_values("seed")
        row = {"setting": setting, "method": method}
        number = dict(row)
        for column, title in STATISTICS:
            values = cell[column].astype(float)
            row[title] = mean_std(values) if len(values) else "-"
            number[f"{column} mean"] = values.mean() if len(values) else float("nan")
            number[f"{column} std"] = values.std(ddof=1) if len(values) > 1 else float("nan")
        row["seeds"] = number["seeds"] = len(cell)
        number["seed list"] = " ".join(str(s) for s in cell["seed"])
        number["MLflow runs"] = " ".join(cell["run_id"])
        shown.append(row)
        numbers.append(number)
    return pd.DataFrame(shown), pd.DataFrame(numbers)
