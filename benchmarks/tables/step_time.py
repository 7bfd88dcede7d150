"""The table of ``comixup-bench timing``: per-batch training time of every method on one device,
split by phase, beside the supplement's ratios; read from the one MLflow run that
``benchmarks.runner.timing.measure_and_log`` logged, written to reports/step-time.{md,csv}.

The run holds every figure as a metric (``time.<method>[.<backend>].<phase>_ms``, the median
ms per batch; ``.total_p90_ms``, ``.total_std_ms``; ``ratio.<a>_over_<b>``), the setup as
``timing.*`` params (with the methods and labeling backends in the order they were timed) and
the device as tags. The supplement reports Co-Mixup at 2.58x vanilla's time per batch on
ImageNet and 1.04x Puzzle Mix's; the ratios here are measured side by side in one process, on
the device the table names.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from benchmarks.tables.paper import published
from benchmarks.tables.timing_table import PHASES, parse_metrics

_PAPER = published("timing")
PAPER_RATIOS = {
    ("comixup", "vanilla"): _PAPER["ratio_comixup_vanilla"],
    ("comixup", "puzzle_mix"): _PAPER["ratio_comixup_puzzle_mix"],
}
"""Co-Mixup supplement, ImageNet ResNet-50 timing (paper_values.toml)."""

TITLE = "Time per training batch by method and phase"


def step_frame(metrics: dict[str, float], methods: list[str], backends: list[str]) -> pd.DataFrame:
    """One row per timed method in ``methods``' order, the solver methods once per labeling
    backend in ``backends``' order (the first keeps the plain name, the one the ratios use):
    ms per batch by phase, the p90 and spread of the total, the mixing phase's share of the
    step and the multiple of vanilla's total."""
    timed = parse_metrics(metrics)
    rows = []
    for method in methods:
        for backend in ("", *backends):
            values = timed.get((method, backend))
            if values is None:
                continue
            plain = backend in ("", backends[0] if backends else "")
            row = {"method": method if plain else f"{method} ({backend})", "backend": backend}
            for phase in (*PHASES, "total"):
                row[f"{phase} (ms)"] = values.get(f"{phase}_ms", math.nan)
            row["total p90 (ms)"] = values.get("total_p90_ms", math.nan)
            row["total std (ms)"] = values.get("total_std_ms", math.nan)
            total = row["total (ms)"]
            row["mixing share"] = row["mixing (ms)"] / total if total else 0.0
            rows.append(row)
    frame = pd.DataFrame(rows)
    totals = dict(zip(frame["method"], frame["total (ms)"], strict=True)) if rows else {}
    if "vanilla" in totals:
        frame["x vanilla"] = frame["total (ms)"] / totals["vanilla"]
    return frame


def notes(params: dict[str, str], device: str, metrics: dict[str, float]) -> str:
    """The setup, the device and each measured ratio beside the supplement's."""
    width = params.get("timing.width", "None")
    size = params["timing.image_size"]
    lines = [
        f"Device: {device}. Model {params['timing.model']} (width "
        f"{'paper' if width == 'None' else width}), batch {params['timing.batch_size']} of "
        f"3x{size}x{size}, {params['timing.num_classes']} classes; median over "
        f"{params['timing.batches']} timed batches after {params['timing.warmup']} warm-up "
        "batches; a fixed batch, so data time is ~0. The mixing phase of Puzzle Mix and "
        "Co-Mixup is their graph-cut solver (plus mixing); its share of the step is in "
        "`mixing share`, per labeling backend.",
        "",
    ]
    for (a, b), paper in PAPER_RATIOS.items():
        measured = metrics.get(f"ratio.{a}_over_{b}")
        if measured is not None:
            lines.append(f"- {a} / {b}: {measured:.2f}x here (supplement, ImageNet: {paper:.2f}x)")
    return "\n".join(lines)


def write_report(run_id: str, out: Path) -> Path:
    """reports/step-time.{md,csv} in ``out`` from the timing run ``run_id`` of the current
    tracking URI; the Markdown's path."""
    from mlflow.tracking import MlflowClient

    from benchmarks.tables.report import write_table

    data = MlflowClient().get_run(run_id).data
    metrics, params = dict(data.metrics), dict(data.params)
    frame = step_frame(metrics, params["timing.methods"].split(), params["timing.backends"].split())
    md, _ = write_table(
        frame,
        "step-time",
        out,
        title=TITLE,
        notes=notes(params, data.tags.get("device", "?"), metrics),
        floatfmt=".2f",
    )
    return md
