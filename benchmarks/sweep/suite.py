"""Train one base configuration several times, changing a few fields each time.

The loop behind ``compare`` (every method on one configuration): each variant is ``base`` with
some fields replaced, trained by the runner with its own MLflow run and checkpoint, so an
interrupted suite resumes where it stopped.

With ``jobs`` > 1 the variants train that many at a time, each in a fresh process with its
share of the cores (``cores // jobs`` torch threads; measured in ``docs/design.md``: on two
cores the main job takes as long either way). A signal that stops the suite (Ctrl-C, ``timeout``'s
SIGTERM) is passed on to the runs still training, which stop as a lone run does: the epoch
done is kept and the next ``compare`` resumes it into the same MLflow run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from benchmarks.configs import TrainConfig
from benchmarks.runner import interrupts, tracking
from benchmarks.runner.train import RunResult, train


def train_all(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    progress: bool = True,
    resume: bool = True,
    jobs: int = 1,
) -> dict[str, RunResult]:
    """Train ``base`` with each variant's field changes; results by variant label, in the
    order of ``variants``.

    ``variants`` maps a label (printed as ``== label ==`` before its run when ``progress``) to
    the :class:`TrainConfig` fields it changes, e.g. ``{"cutmix": {"method": "cutmix"}}``.
    ``jobs`` > 1 trains that many at a time in fresh processes (no per-run progress bar, a
    line as each ends); a run that fails lets the others finish, then its error is raised.
    """
    configs = {label: dataclasses.replace(base, **changes) for label, changes in variants.items()}
    if jobs <= 1 or len(configs) <= 1:
        results = {}
        for label, config in configs.items():
            if progress:
                print(f"== {label} ==", flush=True)
            results[label] = train(config, progress=progress, resume=resume)
        return results
    return _train_side_by_side(configs, jobs=jobs, progress=progress, resume=resume)


def _train_side_by_side(
    configs: dict[str, TrainConfig], *, jobs: int, progress: bool, resume: bool
) -> dict[str, RunResult]:
    from tqdm import tqdm

    # Made here, once: processes that each create a new SQLite store race on its migrations.
    for dataset in dict.fromkeys(config.dataset for config in configs.values()):
        tracking.setup_tracking(dataset)
    jobs = min(jobs, len(configs))
    threads = threads_per_job(jobs)
    context = multiprocessing.get_context("spawn")
    workers = context.SimpleQueue()  # each process's pid, to pass a signal on
    results: dict[str, RunResult] = {}
    failures: dict[str, BaseException] = {}
    with interrupts.stop_on_signals():
        pool = ProcessPoolExecutor(
            jobs,
            mp_context=context,
            max_tasks_per_child=1,
            initializer=_limit_threads,
            initargs=(threads, workers),
        )
        try:
            futures = {
                pool.submit(train, config, resume=resume, progress=False): label
                for label, config in configs.items()
            }
            if progress:
                print(f"== {', '.join(configs)}: {jobs} at a time, {threads} thread(s) each ==")
            bar = tqdm(total=len(futures), desc="runs", unit="run", disable=not progress)
            for future in as_completed(futures):
                label = futures[future]
                error = future.exception()
                if error is None:
                    results[label] = future.result()
                else:
                    failures[label] = error
                bar.update()
                bar.write(f"{'done' if error is None else 'FAILED'} {label}" + _summary(
                    results.get(label), error))  # fmt: skip
            bar.close()
        except KeyboardInterrupt as interrupt:
            _pass_on(workers, getattr(interrupt, "signum", signal.SIGINT))
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    if failures:
        label, error = next(iter(failures.items()))
        error.add_note(f"while training {label} (compare ran every other method to its end)")
        raise error
    return {label: results[label] for label in configs}


def _summary(result: RunResult | None, error: BaseException | None) -> str:
    if error is not None:
        return f": {type(error).__name__}: {error}"
    error_last = result.metrics.get("test_top1_error_last", float("nan"))
    return f": run {result.run_id[:8]}, last-epoch test error {error_last:.2f}%"


def threads_per_job(jobs: int) -> int:
    """Each of ``jobs`` processes' share of the cores (at least one)."""
    from comixup.parallel import available_cores

    return max(1, available_cores() // jobs)


def limit_threads(threads: int) -> None:
    """Torch's intra-op threads in this process: a side-by-side run's share of the cores
    (measured: two 2-thread runs on 2 cores take about twice as long as two 1-thread runs)."""
    import torch

    torch.set_num_threads(threads)


def _limit_threads(threads: int, workers) -> None:
    """A worker's start: its share of the cores, its own process group (so that a terminal's
    Ctrl-C reaches the parent alone, which passes it on once) and its pid to the parent."""
    os.setpgrp()
    limit_threads(threads)
    workers.put(os.getpid())


def _pass_on(workers, signum: int) -> None:
    """Send ``signum`` to every worker still alive (a worker that has ended is skipped)."""
    while not workers.empty():
        pid = workers.get()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
