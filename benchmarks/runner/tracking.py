"""Everything the runner says to MLflow: the tracking store and its reachability check, what a
run records at its start (resolved config, precision, environment), per epoch (metrics) and per
batch (logged with ``MlflowClient.log_batch``, which splits requests at MLflow's per-request
limit itself), the mixed-sample grid of the first batch, and how it ends (FINISHED, KILLED
with a hint to resume, FAILED with the error). Only rank 0 calls these.

A resumed run may find part of its first epoch already logged (killed between logging an epoch
and checkpointing it). MLflow keeps every point logged, even at the same step, and has no call
that removes one, so logging is made idempotent by skipping what the run already holds:
``skip_logged`` leaves out each (metric, step) the run has (the seeding rule makes the values
equal; a measured time keeps its first reading). A run ends with one point per step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import torch
from mlflow.entities import Metric, Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from torch import nn

from benchmarks.configs import TrainConfig
from benchmarks.environment import environment
from benchmarks.errors import UserError
from benchmarks.runner import interrupts
from benchmarks.runner import predictions as preds

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""MLflow 3's own embedded default: a SQLite store in the working directory (DESIGN sec. 4)."""


class TrackingServerError(UserError, RuntimeError):
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


def connect() -> str:
    """Point MLflow at the store and check that it answers; returns the URI (for code that
    reads runs: the sweep's states, the evaluation's selection)."""
    uri = tracking_uri()
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    return uri


def setup_tracking(experiment: str) -> str:
    """Point MLflow at the store, check it, select ``experiment``; returns the URI."""
    uri = connect()
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


# ------------------------------------------------------------------------ the runner's run ----


def find_run(run_id: str) -> Run | None:
    """The run ``run_id`` of the current store, or None when the store does not have it (or
    has it in its trash)."""
    try:
        run = MlflowClient().get_run(run_id)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return run if run.info.lifecycle_stage == "active" else None


def require_run(run_id: str, checkpoint: Path, recorded_uri: str | None = None) -> Run:
    """The run a checkpoint continues; a UserError saying what to do when the store lost it."""
    run = find_run(run_id)
    if run is not None:
        return run
    uri = tracking_uri()
    moved = recorded_uri and recorded_uri != uri
    elsewhere = f" (it was logged to {recorded_uri})" if moved else ""
    raise UserError(
        f"the checkpoint {checkpoint} belongs to MLflow run {run_id}, which the tracking store "
        f"{uri} does not have{elsewhere}: the store was deleted or moved, the run was deleted, "
        "or MLFLOW_TRACKING_URI points elsewhere. Point MLFLOW_TRACKING_URI at the store that "
        "holds the run (or restore it with `mlflow runs restore`), or start over with --fresh."
    )


def start_run(
    experiment: str,
    *,
    run_name: str | None = None,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> mlflow.ActiveRun:
    """The one door to MLflow: every run of the suite (training, timing, analysis, evaluation,
    figures) is opened here. Points MLflow at the store, checks it, selects ``experiment`` and
    opens the run ``run_id`` again (``tags`` left as they were: a resumed run keeps those it
    was created with), or creates one named ``run_name`` with ``tags`` set at its creation,
    before anything can fail. A signal is held off while the run is being opened, so a run is
    never half-created. Use it as a context manager (``with start_run(...) as run:``) or end
    it with ``mlflow.end_run``."""
    setup_tracking(experiment)
    creation_tags = None if run_id else {str(k): str(v) for k, v in (tags or {}).items()}
    with interrupts.deferred():
        return mlflow.start_run(
            run_id=run_id, run_name=None if run_id else run_name, tags=creation_tags
        )


def start_training_run(
    config: TrainConfig, run_id: str | None, tags: Mapping[str, str] | None = None
) -> str:
    """Open the training run ``run_id`` again (a resumed run), or a new one named after the
    config and carrying ``tags`` (a sweep's place of the run); returns its id."""
    name = f"{config.method}-{config.model}-s{config.seed}"
    return start_run(config.dataset, run_name=name, run_id=run_id, tags=tags).info.run_id


def log_start(config: TrainConfig, method: Any, device: torch.device, world_size: int) -> None:
    """The resolved config (params and ``config.json``), precision, world size and tags; a
    reopened run gets only those it lacks (a resume with other incidental settings, e.g.
    ``workers``, keeps the values it started with)."""
    params = config.to_params()
    method_config = getattr(method, "config", None)
    if dataclasses.is_dataclass(method_config):
        for key, value in dataclasses.asdict(method_config).items():
            params[f"method.{key}"] = json.dumps(value)
    params["precision"] = (
        ("float16" if device.type == "cuda" else "bfloat16") if config.amp else "float32"
    )
    params["world_size"] = str(world_size)
    run_tags = {"method": config.method, "dataset": config.dataset, "model": config.model}
    tags = environment_tags(device) | run_tags | {"seed": str(config.seed)}
    logged = mlflow.get_run(mlflow.active_run().info.run_id).data
    if not logged.params:
        mlflow.log_dict(dataclasses.asdict(config), "config.json")
    mlflow.log_params({key: value for key, value in params.items() if key not in logged.params})
    mlflow.set_tags({key: value for key, value in tags.items() if key not in logged.tags})


def log_epoch(run_id: str, metrics: dict[str, float], epoch: int, *, skip_logged: bool) -> None:
    _log(run_id, [(epoch, metrics)], skip_logged=skip_logged)


def mark_early_stopped(epoch: int) -> None:
    mlflow.set_tag("early_stopped_epoch", str(epoch))


def log_batch_metrics(
    run_id: str, records: list[tuple[int, dict[str, float]]], *, skip_logged: bool
) -> None:
    """Per-batch values, finite ones only, in one ``log_batch`` call."""
    _log(run_id, records, skip_logged=skip_logged)


def _log(run_id: str, records: list[tuple[int, dict[str, float]]], *, skip_logged: bool) -> None:
    now = int(time.time() * 1000)
    entries = [
        Metric(key, value, now, step)
        for step, values in records
        for key, value in values.items()
        if math.isfinite(value)
    ]
    with interrupts.deferred():
        if skip_logged:
            entries = _unlogged(run_id, entries)
        if entries:
            MlflowClient().log_batch(run_id, metrics=entries)


def _unlogged(run_id: str, entries: list[Metric]) -> list[Metric]:
    """The entries whose (key, step) run ``run_id`` does not hold yet."""
    client = MlflowClient()
    logged = {
        (key, point.step)
        for key in {entry.key for entry in entries}
        for point in client.get_metric_history(run_id, key)
    }
    return [entry for entry in entries if (entry.key, entry.step) not in logged]


STALE_TAGS = ("interrupted", "error")
"""Tags of an earlier, stopped attempt that a finished run must not keep."""


def log_end(
    history: dict[str, list[float]], checkpoint: Path, predictions: preds.Predictions | None = None
) -> None:
    """The learning curves, the final test-set predictions (``predictions.npz``, when given;
    ``benchmarks.runner.predictions``) and the final checkpoint as artifacts; the run is FINISHED. A
    run resumed after its last epoch logs them again, over the same paths."""
    # matplotlib loads only for the runs that reach their end.
    from benchmarks.runner.plots import learning_curves

    with tempfile.TemporaryDirectory() as folder:
        figure = Path(folder) / "learning_curves.png"
        learning_curves(history, figure)
        mlflow.log_artifact(str(figure))
        if predictions is not None:
            path = Path(folder) / preds.ARTIFACT
            preds.save(predictions, path)
            mlflow.log_artifact(str(path))
    if checkpoint.exists():
        mlflow.log_artifact(str(checkpoint), artifact_path="checkpoint")
    with interrupts.deferred():
        run = mlflow.active_run().info.run_id
        client = MlflowClient()
        for tag in STALE_TAGS:
            if tag in client.get_run(run).data.tags:
                client.delete_tag(run, tag)
        mlflow.end_run("FINISHED")


def end_interrupted(error: BaseException) -> None:
    """KILLED for Ctrl-C and SIGTERM (with how to resume), FAILED with the error for anything
    else; nothing when no run is open. A store that cannot take the record (the error may be
    the store's own) gets a warning, and the caller re-raises the first error."""
    if mlflow.active_run() is None:
        return
    try:
        with interrupts.deferred():
            if isinstance(error, KeyboardInterrupt):
                name = interrupts.signal_name(error)
                reason = f"{name}; resume with the same command or --resume"
                mlflow.set_tag("interrupted", reason)
                mlflow.end_run("KILLED")
            else:
                mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
                mlflow.end_run("FAILED")
    except Exception as failure:
        warnings.warn(f"could not record how the MLflow run ended: {failure}", stacklevel=2)
        with contextlib.suppress(Exception):
            mlflow.end_run("FAILED")  # at least close it in this process


class SampleLogger:
    """Logs the input of the model's last forward call in the first training batch (the mixed
    batch) as ``mixed_samples.png``; a batch hook that removes itself after that batch."""

    def __init__(self, model: nn.Module, mean, std, title: str) -> None:
        self.mean, self.std, self.title = mean, std, title
        self.last: torch.Tensor | None = None
        self._hook = model.register_forward_pre_hook(self._record)

    def _record(self, _module, args) -> None:
        if args and isinstance(args[0], torch.Tensor):
            self.last = args[0].detach().float().cpu()

    def __call__(self, epoch: int, batch: int) -> None:
        if self._hook is None:
            return
        self._hook.remove()
        self._hook = None
        if self.last is None:
            return
        from benchmarks.runner.plots import sample_grid

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "mixed_samples.png"
            sample_grid(self.last, self.mean, self.std, path, title=self.title)
            mlflow.log_artifact(str(path))
