"""One torchrun process of a multi-process sweep run: ``python -m benchmarks.sweep.worker
JOB_PICKLE OUTCOME_JSON`` (started by :meth:`benchmarks.sweep.job.SweepJob._torchrun`)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    job_file, outcome_file = argv
    job = pickle.loads(Path(job_file).read_bytes())
    job.train_as_rank(Path(outcome_file))


if __name__ == "__main__":
    main(sys.argv[1:])
