"""Checkpoints a run can resume from: a :class:`TrainState`, written atomically, read without
arbitrary pickles, and the record of the MLflow run a checkpoint folder belongs to.

A checkpoint holds the model, optimizer, scheduler and grad-scaler states, the number of
finished epochs, the early-stopping state, the metric history, the batch timer's samples, the
MLflow run id and the resolved config. No random state is stored: the seeding rule
(``benchmarks.seeding``) derives every generator of an epoch from the run seed, so an epoch
draws the same numbers after a resume. The file is written to a temporary name and renamed over
the old one, so a run killed while saving keeps its previous checkpoint, and read with
``torch.load(weights_only=True)``, which accepts tensors, numbers, strings and containers of
them but no code.

The folder of a configuration also holds ``run.json``, written as soon as its MLflow run is
created: a run killed before its first checkpoint is continued, not orphaned, by the rerun.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmarks.configs import TrainConfig
from benchmarks.errors import UserError
from benchmarks.runner.identity import run_digest

FORMAT_VERSION = 2
"""2: per-iteration LambdaLR schedule, early-stopping state, seeding rule without saved random
states (the timer's samples, added later, are optional). Version 1 (no ``version`` key)
checkpoints cannot be resumed."""

CHECKPOINT_ROOT = Path("checkpoints")

RUN_RECORD = "run.json"


@dataclass
class TrainState:
    """Everything a run needs to continue after ``epoch`` finished epochs."""

    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any]
    early_stopping: dict[str, Any]
    epoch: int
    history: dict[str, list[float]]
    run_id: str
    config: dict[str, str]
    version: int = FORMAT_VERSION
    timer: dict[str, Any] = field(default_factory=dict)
    """:meth:`BatchTimer.state_dict`, so a resumed run's timing covers every epoch."""


def checkpoint_path(config: TrainConfig, root: Path = CHECKPOINT_ROOT) -> Path:
    """One checkpoint per run identity (``benchmarks.runner.identity``): dataset, model,
    method, seed and a digest of the rest."""
    digest = run_digest(config)
    name = f"{config.dataset}-{config.model}-{config.method}-seed{config.seed}-{digest[:8]}"
    return root / name / "last.pt"


def save_atomic(state: TrainState, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(dataclasses.asdict(state), temporary)
    os.replace(temporary, path)


def load(path: Path) -> TrainState:
    """Read a checkpoint written by :func:`save_atomic` (tensors and plain data only).

    Raises:
        UserError: an unreadable file (empty, truncated, not a checkpoint) or a checkpoint of
            another format version; the message says to start over with ``--fresh``.
    """
    start_over = "start the run over with --fresh, or delete the file"
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        # torch's own message would suggest weights_only=False: never unpickle code.
        what = "empty" if path.stat().st_size == 0 else f"{type(error).__name__} while reading"
        raise UserError(
            f"the checkpoint {path} is unreadable ({what}: truncated, or not a checkpoint of "
            f"this runner); {start_over}."
        ) from error
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a checkpoint of this runner; {start_over}.")
    if data.get("version") != FORMAT_VERSION:
        raise UserError(
            f"{path} was written by another version of the runner (format "
            f"{data.get('version', 1)}, this one reads {FORMAT_VERSION}); {start_over}."
        )
    names = {item.name for item in dataclasses.fields(TrainState)}
    if not set(data) <= names or "model" not in data:
        raise UserError(f"{path} misses or has unknown parts; {start_over}.")
    return TrainState(**data)


def record_run(path: Path, run_id: str, tracking_uri: str) -> None:
    """Note next to checkpoint ``path`` the MLflow run (and store) it belongs to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = path.with_name(RUN_RECORD)
    temporary = record.with_name(RUN_RECORD + ".tmp")
    temporary.write_text(json.dumps({"run_id": run_id, "tracking_uri": tracking_uri}))
    os.replace(temporary, record)


def recorded_run(path: Path) -> dict[str, str]:
    """The ``run_id`` and ``tracking_uri`` noted by :func:`record_run` ({} when there is none
    or it cannot be read: the rerun then starts a new run, having no checkpoint to lose)."""
    try:
        record = json.loads(path.with_name(RUN_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and isinstance(record.get("run_id"), str) else {}


def discard(path: Path) -> None:
    """Remove the checkpoint ``path`` and its run record (``--fresh``: a new run from scratch,
    which a later rerun must not mistake for the old one)."""
    for item in (path, path.with_name(RUN_RECORD)):
        item.unlink(missing_ok=True)
