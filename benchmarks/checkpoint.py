"""Checkpoints a run can resume from: written atomically, read without arbitrary pickles.

A checkpoint holds the model, optimizer, scheduler and grad-scaler states, the epoch, the
early-stopping state, the metric history, every random state the run draws from and the
MLflow run id. It is written to a temporary file and renamed over the old one, so a run killed
while saving keeps its previous checkpoint, and read with ``torch.load(weights_only=True)``,
which accepts tensors, numbers, strings and containers of them but no code.
"""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_atomic` (tensors and plain data only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def random_states(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Every random state a run uses: Python, NumPy's global, torch's CPU and CUDA, and the
    named generators (the method's draws, the data order)."""
    numpy_state = np.random.get_state()
    states: dict[str, Any] = {
        "python": repr(random.getstate()),
        "numpy": {
            "name": numpy_state[0],
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "position": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "torch": torch.get_rng_state(),
        "generators": {name: g.get_state() for name, g in generators.items()},
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Inverse of :func:`random_states`."""
    random.setstate(ast.literal_eval(states["python"]))
    numpy_state = states["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    for name, generator in generators.items():
        generator.set_state(states["generators"][name])
