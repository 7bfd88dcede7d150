"""MLflow set-up: the tracking store, a reachability check, and what a run records about its
environment (git commit, device, library versions)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import mlflow
import torch

from benchmarks.environment import environment

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
    return environment(["git commit"])["git commit"]


def describe_device(device: torch.device) -> str:
    """The GPU's name, or the CPU's architecture and torch's thread count."""
    return environment(["device"], device=device)["device"]


_TAG_NAMES = {"git commit": "git_commit", "device": "device", "python": "python"}
_TAG_PACKAGES = ("torch", "torchvision", "numpy", "gco-wrapper", "mlflow")


def environment_tags(device: torch.device) -> dict[str, str]:
    """Tags that reproduction needs: commit, device, Python and library versions."""
    packages = [*_TAG_PACKAGES, "cuda"] if device.type == "cuda" else list(_TAG_PACKAGES)
    info = environment([*_TAG_NAMES, *packages], device=device)
    tags = {_TAG_NAMES[key]: info[key] for key in _TAG_NAMES}
    tags.update({f"version.{package}": info[package] for package in packages})
    return tags
