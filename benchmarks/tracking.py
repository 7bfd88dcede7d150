"""MLflow set-up: the tracking store, a reachability check, and what a run records about its
environment (git commit, device, library versions)."""

from __future__ import annotations

import os
import platform
import subprocess
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import mlflow
import torch

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""MLflow 3's own embedded default: a SQLite store in the working directory (DESIGN sec. 4)."""


class TrackingServerError(RuntimeError):
    """The MLflow tracking server named by MLFLOW_TRACKING_URI cannot be reached."""


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the local SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def check_reachable(uri: str, *, timeout: float = 5.0) -> None:
    """Fail fast, before any training, when an HTTP tracking server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as response:
            if response.status >= 400:
                raise TrackingServerError(f"{health} answered HTTP {response.status}")
    except (urllib.error.URLError, OSError, TrackingServerError) as error:
        raise TrackingServerError(
            f"the MLflow tracking server at {uri} is unreachable ({error}). Start it (e.g. "
            f"`mlflow server --host 127.0.0.1 --port 5000`), fix MLFLOW_TRACKING_URI, or unset "
            f"it to log to the local store {DEFAULT_TRACKING_URI}."
        ) from error


def setup_tracking(experiment: str) -> str:
    """Point MLflow at the store, check it, select ``experiment``; returns the URI."""
    uri = tracking_uri()
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    return uri


def git_commit() -> str:
    """The commit of the working tree (``+dirty`` when it has changes), or ``unknown``."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def environment_tags(device: torch.device) -> dict[str, str]:
    """Tags that reproduction needs: commit, device, Python and library versions."""
    tags = {
        "git_commit": git_commit(),
        "device": describe_device(device),
        "python": platform.python_version(),
    }
    for package in ("torch", "torchvision", "numpy", "gco-wrapper", "mlflow"):
        try:
            tags[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            tags[f"version.{package}"] = "not installed"
    if device.type == "cuda":
        tags["version.cuda"] = str(torch.version.cuda)
    return tags
