"""``comixup-bench gpu-check``: the CPU mode end to end (what CI runs of the GPU acceptance
check), the report's format, the refusal of a CUDA run without CUDA, and the budget guard."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from benchmarks import cli
from benchmarks.acceptance.gpu_check import RESERVE_S, Step, run_steps
from benchmarks.acceptance.gpu_report import SCHEMA, Outcome, Report, to_json, to_markdown, write

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "environment", "timer", "process-group", "pinned-memory", "timing-cifar100-fp32",
    "timing-cifar100-amp", "training", "torchrun", "timing-imagenet-fp32", "timing-imagenet-amp",
)  # fmt: skip
METHODS = ("vanilla", "input_mixup", "manifold_mixup", "cutmix", "puzzle_mix", "comixup", "vat")
CHECK_KEYS = {"name", "title", "status", "reason", "seconds", "figures"}
TOP_KEYS = {"schema", "finished", "passed", "exit_status", "elapsed_s", "settings",
            "environment", "mlflow_run", "checks"}  # fmt: skip


def _check_layout(data: dict) -> None:
    """The JSON layout of ``benchmarks.acceptance.gpu_report`` (schema 1)."""
    assert set(data) == TOP_KEYS
    assert data["schema"] == SCHEMA
    assert isinstance(data["finished"], bool) and isinstance(data["passed"], bool)
    assert data["exit_status"] == (0 if data["passed"] else 1)
    assert all(isinstance(v, str) for v in data["environment"].values())
    for check in data["checks"]:
        assert set(check) == CHECK_KEYS, check
        assert check["status"].startswith(("pass", "fail", "not run")), check
        assert isinstance(check["seconds"], float | int) and isinstance(check["figures"], dict)


# --- the CPU mode, end to end, as a user runs it ---------------------------------------------


def test_cpu_tiny_mode_runs_every_check_and_reads_its_runs_back(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "gpu-check", "--device", "cpu", "--tiny",
         "--out", str(tmp_path / "out"), "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    _check_layout(data)
    assert data["finished"] and data["passed"]
    statuses = {check["name"]: check["status"] for check in data["checks"]}
    assert tuple(statuses) == CHECKS
    assert statuses.pop("pinned-memory") == "not run (no CUDA)"  # CUDA-only, never "pass"
    assert set(statuses.values()) == {"pass"}, statuses
    assert data["environment"]["device"].startswith("cpu")
    assert {"torch CUDA build", "cuDNN", "driver", "torch", "torch threads"} <= set(
        data["environment"]
    )
    checks = {check["name"]: check for check in data["checks"]}
    grid = checks["timing-cifar100-amp"]["figures"]
    assert {row["method"] for row in grid["per method (ms per batch)"]} == set(METHODS)
    assert [r["ratio"] for r in grid["ratios"]] == ["comixup/vanilla", "comixup/puzzle_mix"]
    assert [r["paper (ImageNet)"] for r in grid["ratios"]] == [2.58, 1.04]
    assert 0 < grid["Co-Mixup solver share of its step (mixing phase)"] < 1
    markdown = (tmp_path / "out" / "gpu-check.md").read_text()
    assert "- **not run (no CUDA)** `pinned-memory`" in markdown
    assert "- **pass** `torchrun`" in markdown and "passed, exit status 0" in markdown
    assert "- **pass** `timing-imagenet-amp`" in done.stdout  # the command prints the report

    # The runs, read back from the store: every method's and torchrun's, tagged with the
    # summary run of experiment gpu-check, which holds both report files.
    client = MlflowClient(uri)
    runs = [*checks["training"]["figures"]["runs"], *checks["torchrun"]["figures"]["runs"]]
    assert [row["method"] for row in runs] == [*METHODS, "comixup"]
    summary = client.get_run(data["mlflow_run"])
    assert summary.info.status == "FINISHED"
    assert client.get_experiment(summary.info.experiment_id).name == "gpu-check"
    assert summary.data.tags["check.training"] == "pass"
    artifacts = {a.path for a in client.list_artifacts(summary.info.run_id)}
    assert artifacts == {"gpu-check.md", "gpu-check.json"}
    for row in runs:
        run = client.get_run(row["MLflow run"])
        assert run.info.status == "FINISHED"
        assert run.data.params["precision"] == "bfloat16"  # AMP on the CPU
        assert run.data.tags["gpu_check_run"] == summary.info.run_id
        assert math.isfinite(run.data.metrics["test_ece"])


# --- the report's format, on a hand-made result ------------------------------------------------


def _report(*outcomes: Outcome) -> Report:
    environment = {"device": "cpu (x86_64, 2 threads)", "torch": "2.x"}
    return Report({"device": "cpu", "tiny": True, "budget_s": 60.0}, environment, list(outcomes))


PASSED = Outcome("timer", "the timer", "pass", "agree", 0.5, {"clock": "time.perf_counter"})
FAILED = Outcome(
    "training", "every method trained", "fail", "comixup: status FAILED", 2.0,
    {"runs": [{"method": "comixup", "status": "fail", "test_ece": float("nan")}]},
)  # fmt: skip
SKIPPED = Outcome("pinned-memory", "pinned loaders", "not run (no CUDA)", "CUDA only")


def test_a_failing_check_prints_fail_and_gives_exit_status_one(tmp_path):
    report = _report(PASSED, FAILED, SKIPPED)
    assert not report.passed and report.exit_status == 1
    markdown = to_markdown(report)
    assert "- **fail** `training` (2.0 s): every method trained. comixup: status FAILED" in markdown
    assert "- **pass** `timer`" in markdown
    assert "- **not run (no CUDA)** `pinned-memory`" in markdown
    assert "FAILED, exit status 1" in markdown
    assert (
        "runs:\n\n| method | status | test_ece |\n|---|---|---|\n| comixup | fail | nan |"
        in markdown
    )
    md_path, json_path = write(report, tmp_path)
    assert md_path.read_text() == markdown
    data = json.loads(json_path.read_text())  # strict JSON: the NaN became null
    _check_layout(data)
    assert data["exit_status"] == 1 and not data["passed"]
    assert data["checks"][1]["figures"]["runs"][0]["test_ece"] is None
    assert [c["status"] for c in data["checks"]] == ["pass", "fail", "not run (no CUDA)"]


def test_checks_that_did_not_run_neither_pass_nor_fail_the_run():
    report = _report(PASSED, SKIPPED)
    assert report.passed and report.exit_status == 0
    assert to_json(report)["checks"][1]["status"] == "not run (no CUDA)"
    with pytest.raises(ValueError, match="status"):
        Outcome("x", "y", "passed?", "")


def test_a_check_that_raises_fails_with_its_error_and_the_next_still_runs():
    def broken():
        raise RuntimeError("CUDA error: an illegal memory access")

    steps = [
        Step("broken", "raises", 0.0, broken),
        Step("fine", "passes", 0.0, lambda: ("pass", "ok", {})),
    ]
    report = run_steps(steps, _report(), budget_s=100.0, cuda=False)
    assert [o.status for o in report.outcomes] == ["fail", "pass"]
    assert report.outcomes[0].reason == "RuntimeError: CUDA error: an illegal memory access"
    assert report.exit_status == 1


# --- the budget guard ---------------------------------------------------------------------------


def test_the_budget_guard_starts_only_the_checks_that_fit():
    ran = []

    def step(name: str, estimate: float, cuda_only: bool = False) -> Step:
        return Step(name, name, estimate, lambda: ran.append(name) or ("pass", "", {}), cuda_only)

    budget = RESERVE_S + 10.0
    steps = [step("fits", 5.0), step("too long", 20.0), step("gpu", 1.0, True), step("small", 4)]
    report = run_steps(steps, _report(), budget_s=budget, cuda=False)
    assert ran == ["fits", "small"]  # a later check that still fits runs
    statuses = [o.status for o in report.outcomes]
    assert statuses == ["pass", "not run (budget)", "not run (no CUDA)", "pass"]
    assert "needs about 20 s" in report.outcomes[1].reason
    assert report.exit_status == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="--device cpu needs a process without CUDA")
def test_a_tiny_budget_marks_the_rest_not_run_and_still_reports(store, tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # what --device cpu sets, restored after
    argv = ["gpu-check", "--device", "cpu", "--tiny", "--budget-s", str(RESERVE_S + 1)]
    status = cli.main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert status == 0
    data = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    statuses = {check["name"]: check["status"] for check in data["checks"]}
    assert statuses.pop("environment") == "pass"
    assert statuses.pop("pinned-memory") == "not run (no CUDA)"
    assert set(statuses.values()) == {"not run (budget)"}
    assert "- **not run (budget)** `training`" in (tmp_path / "out" / "gpu-check.md").read_text()


# --- no silent CPU run ------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_refused(tmp_path, capsys):
    status = cli.main(["gpu-check", "--device", "cuda", "--out", str(tmp_path / "out")])
    assert status == 2
    error = capsys.readouterr().err
    assert "CUDA is not available" in error and "--device cpu --tiny" in error
    assert not (tmp_path / "out").exists()


def test_the_default_device_is_cuda(tmp_path):
    args = cli.get_parser().parse_args(["gpu-check"])
    assert args.device == "cuda" and args.budget_s == 480.0 and not args.tiny
    from benchmarks.acceptance import gpu_check
    from benchmarks.commands import gpu_check as command

    assert command.DEVICES == gpu_check.DEVICES  # the parser's mirror (--help imports no torch)


def test_the_cuda_plan_fits_the_default_budget_and_names_every_check():
    from benchmarks.acceptance.gpu_check import plan

    steps = plan(torch.device("cuda"), tiny=False, progress=False, budget_left=lambda: 480.0)
    assert tuple(step.name for step in steps) == CHECKS
    assert sum(step.estimate_s for step in steps) <= 480.0 - RESERVE_S
    assert [step.name for step in steps if step.cuda_only] == ["pinned-memory"]
