"""The training checks of an acceptance run: every method trained for two short epochs with
AMP through the real runner (``benchmarks.runner.train.train``), and one run launched by
torchrun through the command line, each run then read back from MLflow and judged.

The data is the built-in digits set (``builtin``: in memory, offline, 3x32x32 like CIFAR),
trained for ``limit_batches`` batches per epoch. Each run gets a fresh checkpoint folder and
starts over, so a rerun of the check trains again instead of finding its earlier run
finished. A run passes when MLflow holds it FINISHED, with every epoch's metrics finite, the
precision and device asked for, and a ``predictions.npz`` whose calibration error equals the
logged one (the predictions travelled from the device to the artifact intact).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from mlflow.tracking import MlflowClient

import benchmarks
from benchmarks.configs import TrainConfig, apply_overrides, preset
from benchmarks.environment import describe_device
from benchmarks.runner import predictions as preds
from benchmarks.runner import tracking
from benchmarks.runner.train import train
from benchmarks.tables.calibration import expected_calibration_error

Verdict = tuple[str, str, dict]
DATASET = "builtin"
EPOCHS = 2
REQUIRED_METRICS = ("train_loss", "test_top1_error", "test_loss", "test_ece", "lr")
"""Metrics every finished run must hold, finite."""
TEST_ITEMS = 360
"""Items of the built-in test set (``benchmarks.data.builtin.TEST_SIZE``)."""


def overrides(device: torch.device, tiny: bool) -> list[str]:
    """The ``--set`` assignments of the check's runs over the ``builtin`` preset: two epochs
    with AMP; on CUDA the paper's width, batch 100 and loader workers (pinned memory), tiny on
    the CPU."""
    if tiny or device.type != "cuda":
        shape = ["width=4", "batch_size=10", "limit_batches=1", "limit_eval_batches=1",
                 "warmup_batches=0", "workers=0"]  # fmt: skip
    else:
        shape = ["width=null", "batch_size=100", "limit_batches=5", "limit_eval_batches=2",
                 "warmup_batches=1", "workers=2"]  # fmt: skip
    return [f"epochs={EPOCHS}", "amp=true", "seed=0", *shape]


def config(method: str, device: torch.device, tiny: bool) -> TrainConfig:
    return apply_overrides(preset(DATASET), [f"method={method}", *overrides(device, tiny)])


def _precision(device: torch.device) -> str:
    """What ``tracking.log_start`` records for an AMP run on ``device``."""
    return "float16" if device.type == "cuda" else "bfloat16"


def _predictions_problems(run_id: str, cfg: TrainConfig, logged_ece: float) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = MlflowClient().download_artifacts(run_id, preds.ARTIFACT, folder)
        except Exception as error:  # a missing artifact is the finding
            return [f"no {preds.ARTIFACT} ({type(error).__name__}: {error})"]
        kept = preds.load(Path(path))
    expected = min(TEST_ITEMS, cfg.batch_size * (cfg.limit_eval_batches or TEST_ITEMS))
    problems = []
    if len(kept) != expected:
        problems.append(f"{preds.ARTIFACT} holds {len(kept)} items, expected {expected}")
    probabilities = np.concatenate([kept.top_probabilities.ravel(), kept.label_probability])
    if not (np.isfinite(probabilities).all() and (probabilities >= 0).all()):
        problems.append(f"{preds.ARTIFACT} has probabilities outside [0, 1]")
    elif not math.isclose(expected_calibration_error(kept), logged_ece, abs_tol=1e-4):
        problems.append(
            f"ECE from {preds.ARTIFACT} {expected_calibration_error(kept):.5f} != logged "
            f"test_ece {logged_ece:.5f}"
        )
    return problems


def run_problems(run_id: str, cfg: TrainConfig, device: torch.device, world_size: int) -> list[str]:
    """What is wrong with a finished training run as MLflow holds it (empty: nothing)."""
    client = MlflowClient()
    run = client.get_run(run_id)
    problems = []
    if run.info.status != "FINISHED":
        problems.append(f"status {run.info.status} ({run.data.tags.get('error', 'no error tag')})")
    metrics = run.data.metrics
    for key in REQUIRED_METRICS:
        if not math.isfinite(metrics.get(key, math.nan)):
            problems.append(f"{key} missing or not finite")
    epochs = len(client.get_metric_history(run_id, "test_top1_error"))
    if epochs != cfg.epochs:
        problems.append(f"{epochs} epochs of test_top1_error logged, expected {cfg.epochs}")
    params, tags = run.data.params, run.data.tags
    expected = {"precision": _precision(device), "world_size": str(world_size)}
    problems += [
        f"param {key} = {params.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if params.get(key) != value
    ]
    if tags.get("device") != describe_device(device):
        problems.append(f"trained on {tags.get('device')!r}, not {describe_device(device)!r}")
    if "test_ece" in metrics:
        problems += _predictions_problems(run_id, cfg, metrics["test_ece"])
    return problems


def _row(method: str, run_id: str, seconds: float, problems: list[str]) -> dict:
    metrics = MlflowClient().get_run(run_id).data.metrics if run_id else {}
    return {
        "method": method,
        "status": "fail" if problems else "pass",
        "train_loss": metrics.get("train_loss"),
        "test_top1_error": metrics.get("test_top1_error"),
        "test_ece": metrics.get("test_ece"),
        "ms per batch": metrics.get("time_total_median_ms"),
        "seconds": seconds,
        "MLflow run": run_id,
    }


def check_training(
    device: torch.device, tiny: bool, methods: tuple[str, ...], progress: bool
) -> Verdict:
    """Train each of ``methods`` in this process and judge its run."""
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as checkpoints:
        for method in methods:
            cfg = config(method, device, tiny)
            started, run_id = time.perf_counter(), ""
            try:
                run_id = train(cfg, resume=False, checkpoint_root=Path(checkpoints),
                               progress=progress).run_id  # fmt: skip
                problems = run_problems(run_id, cfg, device, world_size=1)
            except Exception as error:  # one method's failure is a finding
                problems = [f"{type(error).__name__}: {error}"]
            rows.append(_row(method, run_id, time.perf_counter() - started, problems))
            failures += [f"{method}: {problem}" for problem in problems]
    figures = {"dataset": DATASET, "overrides": " ".join(overrides(device, tiny)), "runs": rows}
    if failures:
        return "fail", "; ".join(failures), figures
    return "pass", f"{len(methods)} runs FINISHED with finite metrics and {preds.ARTIFACT}", figures


def _subprocess_env() -> dict[str, str]:
    """This environment with the tracking store made absolute (the child runs elsewhere) and
    this checkout first on the import path."""
    env = dict(os.environ)
    uri = tracking.tracking_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
    env["MLFLOW_TRACKING_URI"] = uri
    root = str(Path(benchmarks.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def torchrun_command(method: str, device: torch.device, tiny: bool) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc-per-node=1 -m benchmarks.cli
    train ...`` with the check's settings."""
    sets = [part for assignment in overrides(device, tiny) for part in ("--set", assignment)]
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1",
        "-m", "benchmarks.cli", "train", "--dataset", DATASET, "--method", method, "--fresh",
        "--no-progress", *sets,
    ]  # fmt: skip


def check_torchrun(device: torch.device, tiny: bool, method: str, timeout_s: float) -> Verdict:
    """One training run launched by torchrun (one process), found by the run id the command
    prints and judged like the in-process ones. A world of one joins no process group (the
    runner does so only when WORLD_SIZE > 1), so this tries torchrun's launch and the command
    line under it, not NCCL (see the ``process-group`` check)."""
    command = torchrun_command(method, device, tiny)
    figures: dict = {"command": " ".join(command[1:])}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:  # its checkpoints/ go here
        try:
            done = subprocess.run(
                command, cwd=folder, env=_subprocess_env(), capture_output=True, text=True,
                timeout=timeout_s,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "fail", f"torchrun did not finish within {timeout_s:.0f} s", figures
    figures["exit status"] = done.returncode
    found = re.search(r"MLflow run ([0-9a-f]{32})", done.stdout)
    if done.returncode != 0 or found is None:
        tail = " ".join((done.stderr or done.stdout).split()[-60:])
        return "fail", f"torchrun exited {done.returncode}, no run reported: {tail}", figures
    run_id = found.group(1)
    figures["MLflow run"] = run_id
    problems = run_problems(run_id, config(method, device, tiny), device, world_size=1)
    figures["runs"] = [_row(method, run_id, time.perf_counter() - started, problems)]
    if problems:
        return "fail", "; ".join(problems), figures
    return (
        "pass",
        f"{method} under torchrun: FINISHED, finite metrics, {preds.ARTIFACT}",
        figures,
    )
