"""A batch's partitions solved on a pool of threads.

Partitions are independent problems (Co-Mixup, sec. 4.3: the batch is split so that the
solver's cost grows linearly with it). Each partition's seed is drawn from the caller's
generator in partition order before any work starts, so the labelings do not depend on the
number of threads. The compiled swap releases the GIL; GCO's binding keeps its graphs in one
global table that is not safe to share between threads, so with the ``"gco"`` backend the
partitions run one after another.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache

import torch

from comixup.config import CoMixupConfig
from comixup.labeling import resolve_backend
from comixup.solver import PartitionProblem


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_pool(n_threads: int) -> ThreadPoolExecutor:
    """One shared pool per size: starting threads for every batch would cost more than a
    partition's solve."""
    # Keyed by process too: a forked child inherits the pool object but not its threads.
    return _thread_pool(n_threads, os.getpid())


@cache
def _thread_pool(n_threads: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="comixup-solver")


def solver_threads(config: CoMixupConfig) -> int:
    """The threads a batch may use: ``config.solver_threads``, else every available core;
    one for the GCO backend."""
    if resolve_backend(config.labeling_backend) == "gco":
        return 1
    return config.solver_threads or available_cores()


def solve_partitions(
    jobs: Sequence[tuple[torch.Tensor, torch.Tensor, int]],
    config: CoMixupConfig,
    generator: torch.Generator | None = None,
    executor: Executor | None = None,
) -> list[torch.Tensor]:
    """:func:`comixup.solver.solve_labeling` on each ``(cost, A, n_output)`` job.

    Returns the same labelings as solving the jobs one after another with ``generator``;
    ``executor`` overrides the pool chosen from ``config.solver_threads``.
    """
    problems = [PartitionProblem.from_tensors(c, A, n, generator) for c, A, n in jobs]
    if executor is None and len(problems) > 1:
        threads = min(solver_threads(config), len(problems))
        executor = thread_pool(threads) if threads > 1 else None
    if executor is None:
        labelings = [problem.solve(config) for problem in problems]
    else:
        labelings = list(executor.map(lambda problem: problem.solve(config), problems))
    return [
        problem.to_tensor(z, job[0])
        for problem, z, job in zip(problems, labelings, jobs, strict=True)
    ]
