"""Train one base configuration several times, changing a few fields each time.

The loop behind ``compare`` (every method on one configuration) and Table 5 (every model x
method x seed): each variant is ``base`` with some fields replaced, trained by the runner with
its own MLflow run and checkpoint, so an interrupted suite resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from benchmarks.configs import TrainConfig
from benchmarks.train import RunResult, train


def train_all(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    progress: bool = True,
    resume: bool = True,
) -> dict[str, RunResult]:
    """Train ``base`` with each variant's field changes, in order; results by variant label.

    ``variants`` maps a label (printed as ``== label ==`` before its run when ``progress``) to
    the :class:`TrainConfig` fields it changes, e.g. ``{"cutmix": {"method": "cutmix"}}``.
    """
    results = {}
    for label, changes in variants.items():
        if progress:
            print(f"== {label} ==", flush=True)
        config = dataclasses.replace(base, **changes)
        results[label] = train(config, progress=progress, resume=resume)
    return results
