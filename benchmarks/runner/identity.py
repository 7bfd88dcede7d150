"""What makes two runs the same run: one identity for the checkpoint a run resumes from and
for the key a sweep finds it by.

A run is named by its resolved config, less the fields that say where the data lives, whether
it may be downloaded and how many loader processes read it (:data:`INCIDENTAL_FIELDS`): those
do not change the experiment, so rerunning with another spelling of ``--data-dir``, without
``--download`` or with another worker count resumes the same checkpoint and keeps a sweep's
run done. (The worker count does change which random numbers the augmentations draw -- workers
are seeded per process -- so such a resume continues the experiment but is not bit-identical
to an uninterrupted run.) Every other field, the method's settings included, is identity.

The checkpoint folder carries the first 8 hex digits of :func:`run_digest` and a sweep key the
first 10, as they did before the two were one function, so existing checkpoints and sweep
runs are still found.
"""

from __future__ import annotations

import hashlib
import json

from benchmarks.configs import TrainConfig

INCIDENTAL_FIELDS = ("data_dir", "download", "workers")
"""Config fields that change where data comes from or how fast, never a run's result."""


def run_identity(config: TrainConfig) -> dict[str, str]:
    """The config fields that identify a run: all but :data:`INCIDENTAL_FIELDS`."""
    params = config.to_params()
    return {key: value for key, value in params.items() if key not in INCIDENTAL_FIELDS}


def run_digest(config: TrainConfig) -> str:
    """The SHA-1 hex digest of :func:`run_identity` (its JSON, keys sorted)."""
    return hashlib.sha1(json.dumps(run_identity(config), sort_keys=True).encode()).hexdigest()
