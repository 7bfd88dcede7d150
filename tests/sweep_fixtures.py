"""Fixtures of the sweep tests: a real ``mlflow server`` on 127.0.0.1 and the local Slurm
cluster of scripts/slurm-local.sh (skipped, with the reason, where there is none)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

TINY = ["epochs=2", "limit_batches=2", "limit_eval_batches=2", "width=4", "batch_size=20"]
"""``--set`` overrides that make a smoke run a few seconds long."""

LOCAL_CLUSTER_CONF = Path(os.environ.get("SLURM_LOCAL_DIR", "/tmp/slurm-local")) / "slurm.conf"


def tiny_set(*extra: str) -> list[str]:
    return [arg for value in [*TINY, *extra] for arg in ("--set", value)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """An ``mlflow server`` with its own SQLite store and artifact folder; its URI."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
    ]  # fmt: skip
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"mlflow server did not start: {(folder / 'server.log').read_text()}")
            time.sleep(0.5)
    yield uri
    server.terminate()
    server.wait(30)
    log.close()


def slurm_skip_reason() -> str | None:
    """Why the Slurm tests cannot run here, or None when a controller answers."""
    if shutil.which("sinfo") is None:
        return (
            "no Slurm here (sinfo missing); .ci/run installs it and starts scripts/slurm-local.sh"
        )
    if "SLURM_CONF" not in os.environ and LOCAL_CLUSTER_CONF.exists():
        os.environ["SLURM_CONF"] = str(LOCAL_CLUSTER_CONF)
    answer = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=30)
    if answer.returncode != 0:
        return (
            f"no Slurm controller answers ({answer.stderr.strip()}); start scripts/slurm-local.sh"
        )
    return None


@pytest.fixture(scope="module")
def slurm():
    reason = slurm_skip_reason()
    if reason is not None:
        if os.environ.get("COMIXUP_REQUIRE_SLURM"):
            pytest.fail(f"COMIXUP_REQUIRE_SLURM is set but {reason}")
        pytest.skip(reason)
