"""Soak test of the run lifecycle (not in the default run: ``pytest -m soak``).

One training run on the built-in set is killed at random points -- SIGKILL or SIGTERM during
training, evaluation or logging, and SIGKILL in the window between an epoch's MLflow records and
its checkpoint -- and rerun after each kill, until it finishes. It must end exactly as an
uninterrupted run of the same config: the same metric history (per epoch and per batch), one
MLflow run, FINISHED, with one point per step of every metric and no stale tags. The figures
(kills by kind, attempts, wall time) are printed; ``SOAK_KILLS`` (default 20), ``SOAK_SEED``
and ``SOAK_METHOD`` (default comixup) change the draw.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from benchmarks.runner.checkpoint import load

KILLABLE = Path(__file__).parents[1] / "killable_run.py"
EPOCHS, BATCHES = 8, 3
OVERRIDES = [
    f"method={os.environ.get('SOAK_METHOD', 'comixup')}",
    f"epochs={EPOCHS}",
    "batch_size=20",
    f"limit_batches={BATCHES}",
    "limit_eval_batches=2",
    "width=4",
    "warmup_batches=1",
]
PAUSE = 0.3
"""Seconds each attempt waits between an epoch's MLflow records and its checkpoint."""


class Attempt:
    """One process of the run, its stdout lines read into a queue as they come."""

    def __init__(self, folder: Path) -> None:
        env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
        self.process = subprocess.Popen(
            [*(sys.executable, KILLABLE, folder / "ckpt", json.dumps(OVERRIDES)),
             *("--pause-before-checkpoint", str(PAUSE))],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float = 300) -> bool:
        """Whether a line starting with ``prefix`` came before the process ended."""
        deadline = time.monotonic() + timeout
        while (line := self.lines.get(timeout=max(deadline - time.monotonic(), 0))) is not None:
            if line.startswith(prefix):
                return True
        return False


def finished_epochs(folder: Path) -> int:
    path = next((folder / "ckpt").glob("*/last.pt"), None)
    return load(path).epoch if path else 0


def run_to_the_end(folder: Path) -> None:
    attempt = Attempt(folder)
    assert attempt.wait_for("done"), "the run did not finish"
    assert attempt.process.wait(timeout=60) == 0


def the_run(folder: Path):
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("builtin").experiment_id])
    histories = {
        key: [(p.step, p.value) for p in client.get_metric_history(run.info.run_id, key)]
        for key in run.data.metrics
    }
    return run, {key: sorted(points) for key, points in histories.items()}


@pytest.mark.soak
def test_a_run_killed_at_random_points_ends_as_an_uninterrupted_one(tmp_path):
    kills_wanted = int(os.environ.get("SOAK_KILLS", "20"))
    rng = random.Random(int(os.environ.get("SOAK_SEED", "0")))
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    killed.mkdir()
    reference.mkdir()
    started = time.monotonic()
    kills: list[tuple[str, int, int]] = []  # (kind, exit status, epochs checkpointed after)
    while len(kills) < kills_wanted:
        # Near the end only the window kill, which never lets the attempt checkpoint, so the
        # run cannot finish before it has taken every kill.
        late = finished_epochs(killed) >= EPOCHS - 1
        kind = "window" if late else rng.choice(["window", "SIGKILL", "SIGTERM"])
        attempt = Attempt(killed)
        if kind == "window":
            reached = attempt.wait_for("checkpoint")
            signum = signal.SIGKILL
        else:
            reached = attempt.wait_for("batch")
            time.sleep(rng.uniform(0.0, 3.0))
            signum = signal.Signals[kind]
        if not reached or attempt.process.poll() is not None:
            attempt.process.wait(timeout=60)
            continue  # the attempt ended before the kill (it finished): no kill to count
        attempt.process.send_signal(signum)
        status = attempt.process.wait(timeout=120)
        assert status in (-signal.SIGKILL, 143), (kind, status)
        kills.append((kind, status, finished_epochs(killed)))
    run_to_the_end(killed)
    killed_seconds = time.monotonic() - started
    run_to_the_end(reference)

    run, history = the_run(killed)
    reference_run, reference_history = the_run(reference)
    kinds = ("window", "SIGKILL", "SIGTERM")
    counts = {kind: sum(k == kind for k, _, _ in kills) for kind in kinds}
    print(
        f"\nsoak: {len(kills)} kills {counts}, epochs checkpointed after each "
        f"{[epochs for _, _, epochs in kills]}, {killed_seconds:.0f} s for the killed run"
    )
    assert run.info.status == "FINISHED"
    assert not {"interrupted", "error"} & set(run.data.tags)
    for key, points in history.items():
        steps = [step for step, _ in points]
        expected = EPOCHS * BATCHES if key.startswith("batch_") else EPOCHS
        assert steps == list(range(expected)), key
    # Measured times differ between any two runs; everything else must be equal.
    measured = ("time_", "timed_batches", "timing_")
    compared = [
        key
        for key in reference_history
        if not key.startswith(measured) and not key.endswith("_seconds")
    ]
    assert set(compared) <= set(history)
    unequal = [key for key in compared if history[key] != reference_history[key]]
    assert not unequal, unequal
    final = {key: history[key][-1][1] for key in compared}
    assert final == {key: reference_history[key][-1][1] for key in compared}
    print(f"soak: {len(compared)} metrics equal to the uninterrupted run at every step; final "
          f"test_top1_error {final['test_top1_error']}, reference run "
          f"{reference_run.info.run_id[:8]}")  # fmt: skip
