"""Checkpoints a run can resume from: a :class:`TrainState`, written atomically, read without
arbitrary pickles.

A checkpoint holds the model, optimizer, scheduler and grad-scaler states, the number of
finished epochs, the early-stopping state, the metric history, the MLflow run id and the
resolved config. No random state is stored: the seeding rule (``benchmarks.seeding``) derives
every generator of an epoch from the run seed, so an epoch draws the same numbers after a
resume. The file is written to a temporary name and renamed over the old one, so a run killed
while saving keeps its previous checkpoint, and read with ``torch.load(weights_only=True)``,
which accepts tensors, numbers, strings and containers of them but no code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchmarks.configs import TrainConfig

FORMAT_VERSION = 2
"""2: per-iteration LambdaLR schedule, early-stopping state, seeding rule without saved random
states. Version 1 (no ``version`` key) checkpoints cannot be resumed."""

CHECKPOINT_ROOT = Path("checkpoints")


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


def checkpoint_path(config: TrainConfig, root: Path = CHECKPOINT_ROOT) -> Path:
    """One checkpoint per (dataset, model, method, seed, rest of the config)."""
    digest = hashlib.sha1(json.dumps(config.to_params(), sort_keys=True).encode()).hexdigest()
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
        ValueError: a checkpoint of another format version.
    """
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by another version of the runner (format "
            f"{data.get('version', 1)}, this one reads {FORMAT_VERSION}); start the run over "
            "with --fresh, or delete the file."
        )
    return TrainState(**data)
