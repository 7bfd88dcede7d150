"""The sweep on a real Slurm cluster (scripts/slurm-local.sh) with a real ``mlflow server``:
a job array finishes and its t-test is built, a requeued job and a cancelled one resume into
their MLflow runs with the metrics of an uninterrupted run, a failing job is FAILED, and a
finished sweep launches nothing. Skipped, with the reason, where Slurm is missing."""

from __future__ import annotations

import subprocess
import time

import pytest
from mlflow.tracking import MlflowClient
from sweep_fixtures import TINY, mlflow_server, slurm, tiny_set  # noqa: F401 - fixtures

from benchmarks.cli import main
from benchmarks.runner.checkpoint import load
from benchmarks.runner.train import checkpoint_path
from benchmarks.sweep import launch
from benchmarks.sweep.experiments import expand
from benchmarks.sweep.job import experiment_checkpoints

pytestmark = pytest.mark.usefixtures("slurm")


@pytest.fixture
def cluster_env(tmp_path, monkeypatch, mlflow_server):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    return mlflow_server


def array_jobs(job_id: str) -> list[str]:
    """The task states Slurm's accounting holds for job array ``job_id``."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "JobID,State"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.strip()]


def test_a_significance_sweep_runs_as_a_job_array(cluster_env, tmp_path, capsys):
    selection = ["significance", "--scale", "smoke", "--seeds", "2", *tiny_set()]
    assert main(["sweep", *selection, "--launcher", "slurm", "--wait"]) == 0
    out = capsys.readouterr().out
    assert "(4 tasks)" in out and "4 done, 0 failed" in out
    array = out.split("submitted Slurm job array ")[1].split()[0]
    # A task's result is written a moment before Slurm records the task as completed.
    wait_for(
        lambda: [t.split("|")[1] for t in array_jobs(array)] == ["COMPLETED"] * 4,
        f"the 4 tasks of array {array} to be COMPLETED in sacct ({array_jobs(array)})",
        timeout=60,
    )

    assert main(["sweep", *selection, "--status"]) == 0
    status = capsys.readouterr().out
    assert "4 of 4 runs done" in status
    # Four jobs logged to one server at once: every epoch and artifact of each is there.
    client = MlflowClient(cluster_env)
    for run_id in [line.split()[4] for line in status.splitlines() if " done " in line]:
        steps = [m.step for m in client.get_metric_history(run_id, "test_top1_error")]
        assert sorted(steps) == [0, 1], run_id
        artifacts = {a.path for a in client.list_artifacts(run_id)}
        assert {"config.json", "learning_curves.png", "checkpoint"} <= artifacts, artifacts
    assert main(["sweep", *selection, "--launcher", "slurm", "--wait"]) == 0
    assert "nothing to launch" in capsys.readouterr().out

    assert main(["ttest", *selection[1:], "--out", "reports"]) == 0
    report = (tmp_path / "reports" / "significance.md").read_text()
    row = next(line for line in report.splitlines() if "this suite" in line)
    assert "|       2 |" in row  # two seed pairs


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_requeued_and_cancelled_jobs_resume_into_their_runs(cluster_env, tmp_path):
    """Four copies of one run, each with its own checkpoint folder: one uninterrupted, one
    requeued by ``scontrol requeue`` mid-run, one sent SIGUSR2 (Slurm's time-limit and
    preemption signal: submitit's checkpointing hook requeues it), one ``scancel`` led and
    launched again."""
    # 40 short epochs (8 to 40 s on two cores): Slurm kills a cancelled job's processes
    # up to two seconds after its SIGTERM (which submitit ignores), and a shorter run can finish
    # in that window.
    [run] = expand("significance", scale="smoke", seeds=1, overrides=[*TINY[1:], "epochs=40"])[:1]
    roots = {name: tmp_path / name for name in ("reference", "requeued", "preempted", "cancelled")}
    options = launch.SlurmOptions()
    common = {"folder": tmp_path / "slurm", "tracking_uri": cluster_env, "name": "resume"}
    jobs = {
        name: launch.submit_slurm([run], options, checkpoint_root=root, **common)[0]
        for name, root in roots.items()
    }
    checkpoints = {
        name: checkpoint_path(run.config, experiment_checkpoints(run, root))
        for name, root in roots.items()
    }
    signals = {
        "requeued": ["scontrol", "requeue"],
        "preempted": ["scancel", "--signal=USR2"],
        "cancelled": ["scancel"],
    }
    started = {}

    def signal_after_first_checkpoint() -> bool:
        for name, command in signals.items():
            if name not in started and checkpoints[name].exists():
                started[name] = load(checkpoints[name])
                subprocess.run([*command, jobs[name].job_id], check=True)
        return len(started) == len(signals)

    wait_for(signal_after_first_checkpoint, "the first checkpoints", timeout=180)
    # Slurm holds a requeued job back for a while (its begin time); let it start at once.
    for name in ("requeued", "preempted"):
        wait_for(
            lambda name=name: (
                subprocess.run(
                    ["scontrol", "update", f"JobId={jobs[name].job_id}", "StartTime=now"],
                    capture_output=True,
                ).returncode
                == 0
            ),
            f"the {name} job to be pending",
            timeout=60,
        )
    for name, state in started.items():
        assert state.epoch < run.config.epochs, f"{name} ended before the signal"

    with pytest.raises(Exception):  # noqa: B017 - submitit's error for a cancelled job varies
        jobs["cancelled"].result()
    cut = load(checkpoints["cancelled"]).epoch
    assert cut < run.config.epochs, "the cancelled job finished before Slurm killed it"
    relaunched = launch.submit_slurm([run], options, checkpoint_root=roots["cancelled"], **common)
    reference = launch.final_result(jobs["reference"])
    requeued = launch.final_result(jobs["requeued"])
    preempted = launch.final_result(jobs["preempted"])
    cancelled = launch.final_result(relaunched[0])

    client = MlflowClient(cluster_env)
    for name, outcome in (
        ("requeued", requeued),
        ("preempted", preempted),
        ("cancelled", cancelled),
    ):
        assert outcome.run_id == started[name].run_id, name
        assert client.get_run(outcome.run_id).info.status == "FINISHED"
        for key in ("test_top1_error_median_last10", "test_top1_error_last", "test_loss"):
            assert outcome.metrics[key] == reference.metrics[key], (name, key)
        history = {m.step: m.value for m in client.get_metric_history(outcome.run_id, "test_loss")}
        expected = {
            m.step: m.value for m in client.get_metric_history(reference.run_id, "test_loss")
        }
        assert history == expected, name
    for name in ("requeued", "preempted"):
        assert "REQUEUE" in subprocess.run(
            ["sacct", "-n", "-D", "-X", "-P", "-j", jobs[name].job_id, "-o", "State"],
            capture_output=True, text=True, check=True,
        ).stdout, name  # fmt: skip


def test_a_failing_job_is_failed_in_mlflow_and_in_the_status(cluster_env, capsys):
    selection = ["significance", "--scale", "smoke", "--seeds", "1", *tiny_set("lr=1e30")]
    assert main(["sweep", *selection, "--launcher", "slurm", "--wait"]) == 1
    assert "0 done, 2 failed" in capsys.readouterr().out
    assert main(["sweep", *selection, "--status"]) == 0
    status = capsys.readouterr().out
    assert status.count(" failed ") == 2, status
    run_ids = [line.split()[4] for line in status.splitlines() if " failed " in line]
    client = MlflowClient(cluster_env)
    for run_id in run_ids:
        run = client.get_run(run_id)
        assert run.info.status == "FAILED" and "NaN" in run.data.tags["error"]
