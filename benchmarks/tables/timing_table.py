"""The timing table from ``comixup-bench sweep timing``'s runs, and its claims for the
reproduction report.

Each run timed every method side by side on one device (``benchmarks.runner.timing.time_run``)
and logged
per method ``time.<method>[.<backend>].<phase>_ms`` (median ms per batch), ``.total_std_ms``
(the spread over the timed batches) and the device as tags. Ratios come from one run only,
never across runs: two processes may see different machines or loads.

The paper's numbers (``paper_values.toml [timing]``): Co-Mixup takes 2.58x vanilla's time per
batch and 1.04x Puzzle Mix's on ImageNet / ResNet-50 (4 RTX 2080Ti); the official CIFAR-100
logs put Co-Mixup at about 2.1x Puzzle Mix per epoch, the anchor for the CIFAR setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks.sweep.experiments import ALL_METHODS
from benchmarks.sweep.state import DONE, RunState
from benchmarks.tables.claims import Claim
from benchmarks.tables.paper import published
from benchmarks.tables.selection import Selection

PHASES = ("data", "saliency", "mixing", "forward_backward", "optimizer")
"""The phases of a training step, in the order of the runner's ``BatchTimer``
(``benchmarks.runner.batch_timer.PHASES``, which a test keeps equal): the columns, as data, so
that this table needs not import the runner."""
BACKENDS = ("compiled", "gco")
"""The labeling backends a timing run times Puzzle Mix and Co-Mixup with, in the runner's order
(``benchmarks.runner.timing.BACKENDS``, kept equal by a test); the first is the one the ratios
use."""

TITLE = "Timing: per-batch time of every method"
REPRODUCE = "comixup-bench sweep timing --scale {scale}\ncomixup-bench table timing --scale {scale}"

_PAPER = published("timing")
IMAGENET = "imagenet/resnet50"
CIFAR = "cifar100/preactresnet18"
PAPER_RATIOS = {
    (IMAGENET, "comixup", "vanilla"): (_PAPER["ratio_comixup_vanilla"], "supplement, ImageNet"),
    (IMAGENET, "comixup", "puzzle_mix"): (
        _PAPER["ratio_comixup_puzzle_mix"],
        "supplement, ImageNet",
    ),
    (CIFAR, "comixup", "puzzle_mix"): (
        _PAPER["official_cifar_log_ratio_comixup_puzzle_mix"],
        "official CIFAR-100 logs, per epoch",
    ),
    (CIFAR, "comixup", "vanilla"): (None, "the paper states none"),
}
"""(setting, method, over) -> (the published ratio of time per batch, where it is stated)."""

DEVICE_TAGS = {
    "device": "device",
    "gpu": "GPU",
    "cpu_model": "CPU",
    "logical_cores": "cores",
    "torch_threads": "torch threads",
    "timer": "clock",
    "load_average": "load average",
}
"""Run tag -> column: what each setting's timing was measured on."""


def parse_metrics(metrics: dict[str, float]) -> dict[tuple[str, str], dict[str, float]]:
    """``time.<method>[.<backend>].<field>`` metrics as {(method, backend): {field: value}}."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in metrics.items():
        parts = key.split(".")
        if parts[0] != "time" or len(parts) not in (3, 4):
            continue
        method, backend = parts[1], parts[2] if len(parts) == 4 else ""
        rows.setdefault((method, backend), {})[parts[-1]] = value
    return rows


def _order(key: tuple[str, str]) -> tuple[int, int]:
    """Methods in the registry's order (a timing run times every one of them), then backends."""
    method, backend = key
    rank = ALL_METHODS.index(method) if method in ALL_METHODS else len(ALL_METHODS)
    return rank, (BACKENDS.index(backend) + 1 if backend in BACKENDS else 0)


def timing_frame(states: Sequence[RunState], tags: dict[str, dict[str, str]]) -> pd.DataFrame:
    """One row per setting and timed method of the done runs: ms per batch by phase, the
    spread over batches, the multiple of vanilla's total, the run id and the device.
    ``tags`` maps run id -> that run's tags."""
    rows = []
    for state in states:
        if state.state != DONE:
            continue
        timed = parse_metrics(state.metrics or {})
        vanilla = timed.get(("vanilla", ""), {}).get("total_ms")
        run_tags = tags.get(state.run_id, {})
        for method, backend in sorted(timed, key=_order):
            values = timed[(method, backend)]
            row = {"setting": state.run.setting, "method": method, "backend": backend}
            for phase in (*PHASES, "total"):
                row[f"{phase} (ms)"] = values.get(f"{phase}_ms", math.nan)
            row["total std (ms)"] = values.get("total_std_ms", math.nan)
            row["x vanilla"] = row["total (ms)"] / vanilla if vanilla else math.nan
            row["MLflow run"] = state.run_id
            row.update({column: run_tags.get(tag, "") for tag, column in DEVICE_TAGS.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def ratio(frame: pd.DataFrame, setting: str, first: str, second: str) -> tuple[float, float]:
    """(``first``'s total / ``second``'s, its spread) in ``setting``, from the first labeling
    backend's rows (those the plain method name stands for). The spread combines the two
    methods' relative spreads over the timed batches: r * sqrt((s1/t1)^2 + (s2/t2)^2)."""
    cell = frame[(frame["setting"] == setting) & frame["backend"].isin(["", BACKENDS[0]])]
    totals = cell.set_index("method")
    if first not in totals.index or second not in totals.index:
        return math.nan, math.nan
    a, b = totals.loc[first], totals.loc[second]
    value = a["total (ms)"] / b["total (ms)"]
    relative = (a["total std (ms)"] / a["total (ms)"]) ** 2
    relative += (b["total std (ms)"] / b["total (ms)"]) ** 2
    return float(value), float(value * math.sqrt(relative))


def ratios_frame(frame: pd.DataFrame, settings: Sequence[str]) -> pd.DataFrame:
    """Per setting, each published ratio beside the measured one and the difference."""
    rows = []
    for (setting, first, second), (paper, source) in PAPER_RATIOS.items():
        if setting not in settings:
            continue
        value, spread = ratio(frame, setting, first, second) if len(frame) else (math.nan,) * 2
        rows.append(
            {
                "setting": setting,
                "ratio": f"{first} / {second}",
                "measured": value,
                "spread": spread,
                "paper": paper,
                "source": source,
                "difference": value - paper if paper is not None else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _device(frame: pd.DataFrame, setting: str) -> str:
    cell = frame[frame["setting"] == setting] if len(frame) else frame
    if not len(cell):
        return ""
    first = cell.iloc[0]
    return (
        f"{first['device']}; CPU {first['CPU']}, {first['cores']} cores, "
        f"{first['torch threads']} torch threads; clock {first['clock']}; load average "
        f"(1/5/15 min) {first['load average']} at the start"
    )


def run_tags(states: Sequence[RunState]) -> dict[str, dict[str, str]]:
    """Each done run's tags, read from the current MLflow tracking URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    return {s.run_id: client.get_run(s.run_id).data.tags for s in states if s.state == DONE}


def claims(scale: str, seeds: int | None) -> list[Claim]:
    """The published ratios beside those of the timing runs at ``scale`` (``seeds`` is unused:
    a timing run has one seed, and a ratio's spread is over its timed batches)."""
    from benchmarks.sweep.experiments import expand
    from benchmarks.sweep.state import run_states

    del seeds
    states = run_states(expand("timing", scale=scale))
    frame = timing_frame(states, run_tags(states))
    settings = [s.run.setting for s in states]
    ids = {s.run.setting: s.run_id for s in states if s.state == DONE}
    found = []
    for row in ratios_frame(frame, settings).to_dict("records"):
        measured = None if math.isnan(row["measured"]) else row["measured"]
        paper = None if pd.isna(row["paper"]) else float(row["paper"])  # a frame makes None NaN
        found.append(
            Claim(
                table="Timing",
                claim=f"time per batch, {row['ratio']}, {row['setting']} ({row['source']})",
                paper=paper,
                measured=measured,
                unit="x",
                scale=scale,
                seeds=1 if measured is not None else 0,
                spread=None if math.isnan(row["spread"]) else row["spread"],
                command=f"comixup-bench sweep timing --scale {scale} && "
                f"comixup-bench table timing --scale {scale}",
                run_ids=(ids[row["setting"]],) if row["setting"] in ids else (),
                device=_device(frame, row["setting"]),
            )
        )
    return found


def write_report(selection: Selection, out: Path) -> Path:
    """``timing.{md,csv}`` and ``timing-ratios.csv`` in ``out`` from the ``timing`` sweep's runs
    of ``selection``: every setting's methods by phase, then the ratios beside the paper's;
    returns the Markdown path."""
    from benchmarks.sweep.experiments import expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.report import write_table
    from benchmarks.tables.sweep_runs import missing_note

    scale = selection.scale
    states = run_states(
        expand("timing", scale=scale, seeds=selection.seeds, overrides=selection.overrides)
    )
    frame = timing_frame(states, run_tags(states))
    settings = list(dict.fromkeys(s.run.setting for s in states))
    ratios = ratios_frame(frame, settings)
    shown = frame.drop(columns=[c for c in DEVICE_TAGS.values() if c in frame], errors="ignore")
    devices = [
        f"- {setting}: {_device(frame, setting) or 'no finished run'}" for setting in settings
    ]
    notes = [
        "Median milliseconds per training batch over the timed batches, by phase, every "
        "method of a setting timed side by side in one process on a fixed random batch (data "
        "~0); `total std` is the spread over the timed batches; `x vanilla` the multiple of "
        "vanilla's total. Rows with a backend are Puzzle Mix / Co-Mixup per labeling backend; "
        "the ratios use the first (`compiled`). Clock: CUDA events on a GPU, perf_counter on "
        "the CPU.",
        "## Ratios beside the paper's\n\n" + ratios.to_markdown(index=False, floatfmt=".3f"),
        "The supplement's ratios are ImageNet / ResNet-50 on 4 RTX 2080Ti (Co-Mixup 0.964 s "
        "per batch, vanilla 0.374 s); the CIFAR anchor is per epoch from the official logs. "
        "Spread of a ratio: from both methods' spread over the timed batches.",
        "## Devices\n\n" + "\n".join(devices),
        _scale_note(scale),
        missing_note(states),
    ]
    md, csv = write_table(
        shown,
        "timing",
        out,
        title=f"Per-batch time of every method by phase, {scale} scale",
        notes="\n\n".join(n for n in notes if n),
        floatfmt=".2f",
    )
    frame.to_csv(csv, index=False)
    ratios.to_csv(out / "timing-ratios.csv", index=False)
    return md


def _scale_note(scale: str) -> str:
    if scale == "smoke":
        return (
            "Smoke scale (benchmarks/sweep/experiments.py TIMING_SMOKE): on the CPU, batches "
            "of 8 (PreActResNet18 at width 8) and of 4 (ResNet-50 at 64 px instead of 224), 3 "
            "timed batches; the ratios check the pipeline, not the paper's claim."
        )
    return (
        "Paper scale (benchmarks/sweep/experiments.py TIMING): CIFAR-100 batch 100 at 32 px, "
        "ImageNet batch 112 (448 over 4 GPUs) at 224 px, 20 timed batches after 5 warm-up."
    )


def directions(scale: str, seeds: int | None) -> list:
    """The order of the published ratios above 1 at ``scale``: Co-Mixup takes longer per batch
    than the method it is divided by, by Welch's t-test over the timed batches (each side's
    median and spread over them; ``seeds`` is unused, a timing run has one)."""
    from benchmarks.sweep.experiments import expand
    from benchmarks.sweep.state import run_states
    from benchmarks.tables.directions import NOT_RUN, Direction, welch_verdict

    del seeds
    states = run_states(expand("timing", scale=scale))
    frame = timing_frame(states, run_tags(states))
    batches = {s.run.setting: s.run.config.limit_batches or 0 for s in states}
    ids = {s.run.setting: s.run_id for s in states if s.state == DONE}
    found = []
    for (setting, first, second), (paper, source) in PAPER_RATIOS.items():
        if setting not in batches or paper is None or paper <= 1:
            continue
        sides = [_timed(frame, setting, method, batches[setting]) for method in (first, second)]
        result = (
            welch_verdict(*sides, lower_is_better=False) if all(sides) else {"verdict": NOT_RUN}
        )
        found.append(
            Direction(
                table="Timing",
                claim=f"{first} takes longer per batch than {second} (paper {paper:g}x, "
                f"{source}), {setting}",
                ahead=first,
                behind=second,
                statistic="ms per training batch, median over the timed batches",
                scale=scale,
                run_ids=(ids[setting],) if setting in ids else (),
                command=f"comixup-bench sweep timing --scale {scale}",
                **result,
            )
        )
    return found


def _timed(frame: pd.DataFrame, setting: str, method: str, count: int):
    """(median ms, std ms, timed batches) of ``method``'s first backend in ``setting``."""
    if not len(frame):
        return None
    rows = frame[(frame["setting"] == setting) & (frame["method"] == method)]
    rows = rows[rows["backend"].isin(["", BACKENDS[0]])]
    if not len(rows):
        return None
    return float(rows.iloc[0]["total (ms)"]), float(rows.iloc[0]["total std (ms)"]), count
