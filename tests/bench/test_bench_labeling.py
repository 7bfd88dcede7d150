"""Labeling backends side by side: a CIFAR batch of 100 (5 partitions of 20, 4x4 grid, |L| = 3,
4 passes, paper defaults) with GCO, with the per-step solver around the compiled swap (the path
the compiled kernel replaced), and with the compiled kernel on one and two threads, and against
the official solver ``match.get_onehot_matrix`` of snu-mllab/Co-Mixup.

The official solver is imported from the folder named by ``COMIXUP_OFFICIAL_DIR`` (a checkout
of snu-mllab/Co-Mixup; only ``match.py`` is used); without it that case is skipped. The numba
compile cost is measured in fresh processes (cold: empty cache; warm: cache filled) and kept
apart from the steady state, in the case's ``extra_info``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import torch
from test_bench_solver import peaked_saliency

from baselines.puzzle_mix import PuzzleMixConfig, draw_params, graph_cut_mask
from comixup import CoMixupConfig, compatibility_matrix, salient_distances, unary_cost
from comixup.compiled_swap import CompiledSwap
from comixup.graphcut import GridSwap, grid_edges
from comixup.objective import objective
from comixup.parallel import solve_partitions
from comixup.solver import PartitionProblem, solve_partition

CONFIG = CoMixupConfig()
BATCH = 100
OFFICIAL_DIR = os.environ.get("COMIXUP_OFFICIAL_DIR")


@pytest.fixture(scope="module")
def jobs():
    """The batch's partitions as ``(cost, A, n_output)``, built once."""
    saliency = peaked_saliency(BATCH)
    cost = unary_cost(saliency, CONFIG.grid_size)
    distances = salient_distances(saliency)
    size = CONFIG.partition_size
    parts = [slice(start, start + size) for start in range(0, BATCH, size)]
    return [
        (cost[part], compatibility_matrix(distances[part, part], CONFIG.omega), size)
        for part in parts
    ]


def mean_objective(jobs, labelings) -> float:
    return float(
        np.mean([objective(c, z, A, CONFIG) for (c, A, _), z in zip(jobs, labelings, strict=True)])
    )


def label_batch(jobs, config: CoMixupConfig, seed: int = 0):
    return solve_partitions(jobs, config, torch.Generator().manual_seed(seed))


def label_batch_per_step(jobs, config: CoMixupConfig, seed: int = 0):
    """The batch on one thread through the per-step solver (a Python loop around the compiled
    swap): what the compiled kernel replaced, with the same seeds and labels."""
    generator = torch.Generator().manual_seed(seed)
    problems = [PartitionProblem.from_tensors(c, A, n, generator) for c, A, n in jobs]
    return [
        problem.to_tensor(
            solve_partition(
                problem.cost,
                problem.A,
                problem.n_output,
                config,
                problem.rng,
                prior=problem.prior,
                stepwise=True,
            )[0],
            job[0],
        )
        for problem, job in zip(problems, jobs, strict=True)
    ]


@pytest.mark.parametrize(
    ("backend", "threads"),
    [("gco", 1), ("per-step", 1), ("compiled", 1), ("compiled", 2)],
    ids=str,
)
def test_bench_label_batch_of_100(benchmark, jobs, backend, threads):
    label = label_batch_per_step if backend == "per-step" else label_batch
    backend = "compiled" if backend == "per-step" else backend
    config = CoMixupConfig(labeling_backend=backend, solver_threads=threads)
    label(jobs, config)  # compile / load outside the timing

    labelings = benchmark(label, jobs, config)

    assert [z.shape for z in labelings] == [(20, 4, 4, 20)] * 5
    reference = label_batch(jobs, CoMixupConfig(labeling_backend="gco", solver_threads=1))
    for z, z_reference in zip(labelings, reference, strict=True):
        torch.testing.assert_close(z, z_reference, rtol=0, atol=0)
    benchmark.extra_info["mean_objective"] = mean_objective(jobs, labelings)


def _official_batch(match, jobs, seed: int = 0):
    # The official solver draws from NumPy's and torch's global generators and edits its
    # cost in place.
    np.random.seed(seed)
    torch.manual_seed(seed)
    return [
        match.get_onehot_matrix(
            cost.clone(),
            A,
            n_output,
            beta=CONFIG.beta,
            gamma=CONFIG.gamma,
            eta=CONFIG.eta,
            mixup_alpha=CONFIG.alpha,
            thres=CONFIG.tau,
            set_resolve=CONFIG.resolve,
            niter=CONFIG.n_iter,
            device="cpu",
        )
        for cost, A, n_output in jobs
    ]


def _median_ms(function, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


@pytest.mark.skipif(
    OFFICIAL_DIR is None,
    reason="set COMIXUP_OFFICIAL_DIR to a checkout of snu-mllab/Co-Mixup (holding match.py) "
    "to time the official solver",
)
def test_bench_official_solver_batch_of_100(benchmark, jobs, monkeypatch):
    monkeypatch.syspath_prepend(OFFICIAL_DIR)
    import match  # the official solver

    labelings = benchmark(_official_batch, match, jobs)

    assert [z.shape for z in labelings] == [(20, 4, 4, 20)] * 5
    benchmark.extra_info["mean_objective"] = mean_objective(jobs, labelings)
    if benchmark.disabled:
        return
    # Side by side in this process: the official solver over each path, one thread, and the
    # compiled kernel's two threads over one.
    official = _median_ms(lambda: _official_batch(match, jobs))
    paths = {
        "gco": (label_batch, CoMixupConfig(labeling_backend="gco", solver_threads=1)),
        "per_step": (label_batch_per_step, CoMixupConfig(solver_threads=1)),
        "compiled": (label_batch, CoMixupConfig(solver_threads=1)),
        "compiled_2_threads": (label_batch, CoMixupConfig(solver_threads=2)),
    }
    times = {}
    for name, (label, config) in paths.items():
        label(jobs, config)
        times[name] = _median_ms(lambda label=label, config=config: label(jobs, config))
        benchmark.extra_info[f"{name}_ms"] = times[name]
        benchmark.extra_info[f"official_over_{name}"] = official / times[name]
    benchmark.extra_info["per_step_over_compiled"] = times["per_step"] / times["compiled"]
    benchmark.extra_info["one_over_two_threads"] = times["compiled"] / times["compiled_2_threads"]
    benchmark.extra_info["official_ms"] = official
    benchmark.extra_info["load_average"] = os.getloadavg()[0]


_COMPILE = """
import time
import numba
import numpy as np
import comixup
start = time.perf_counter()  # the imports above are not the compiler's
from comixup.compiled_swap import CompiledSwap
swap = CompiledSwap(2, 2)
swap(np.zeros((4, 2), np.intc), np.array([[0, 1], [1, 0]], np.intc), swap.uniform_weights(1))
print(time.perf_counter() - start)
"""


def _compile_seconds(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    result = subprocess.run(
        [sys.executable, "-c", _COMPILE], env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.split()[-1])


def test_bench_compiled_swap_steady_state_and_compile_cost(benchmark, jobs):
    """One 4x4 swap with 23 states at a realistic scale; compile costs in extra_info."""
    rng = np.random.default_rng(0)
    unary = rng.integers(-500_000, 2_000_000, size=(16, 23)).astype(np.intc)
    states = np.concatenate([np.eye(20, 23) * 2, np.eye(3, 23, 17) + np.eye(3, 23, 18)])
    pairwise = np.square(states[:, None] - states[None]).sum(-1).astype(np.intc)
    swap = CompiledSwap(4, 4)
    weights = swap.uniform_weights(2500)

    labels = benchmark(swap, unary, pairwise, weights)

    np.testing.assert_array_equal(labels, GridSwap(4, 4)(unary, pairwise, weights))
    if benchmark.disabled:
        return
    with tempfile.TemporaryDirectory() as cache_dir:
        benchmark.extra_info["jit_cold_s"] = _compile_seconds(cache_dir)
        benchmark.extra_info["jit_cached_s"] = _compile_seconds(cache_dir)


def test_bench_swap_agreement_on_1000_problems(benchmark):
    """1,000 random single-output problems at the solver's sizes: labels and energies of the
    two backends (they agree exactly; the counts go to extra_info)."""
    rng = np.random.default_rng(7)
    problems = []
    for _ in range(1000):
        n_labels = int(rng.integers(2, 31))
        unary = rng.integers(-(10**6), 10**6, size=(16, n_labels)).astype(np.intc)
        states = rng.integers(0, 3, size=(n_labels, 3))
        pairwise = np.square(states[:, None] - states[None]).sum(-1).astype(np.intc)
        problems.append((int(rng.integers(0, 50_000)), unary, pairwise))

    def solve_all(swap):
        return [swap(u, p, swap.uniform_weights(w)) for w, u, p in problems]

    compiled = benchmark(solve_all, CompiledSwap(4, 4))
    reference = solve_all(GridSwap(4, 4))

    starts, ends = grid_edges(4, 4)

    def energy(w, unary, pairwise, labels):
        return int(unary[np.arange(16), labels].sum()) + w * int(
            pairwise[labels[starts], labels[ends]].sum()
        )

    gaps = [
        energy(w, u, p, ours) - energy(w, u, p, theirs)
        for (w, u, p), ours, theirs in zip(problems, compiled, reference, strict=True)
    ]
    same = sum(np.array_equal(a, b) for a, b in zip(compiled, reference, strict=True))
    benchmark.extra_info["same_labels"] = int(same)
    benchmark.extra_info["mean_energy_gap"] = float(np.mean(gaps))
    assert same == len(problems)


@pytest.mark.parametrize("backend", ["gco", "compiled"])
def test_bench_puzzle_mix_graph_cuts_of_100_pairs(benchmark, backend):
    """Puzzle Mix's masks for a CIFAR batch of 100 on each grid side it draws (2, 4, 8, 16)."""
    x = torch.rand(BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    saliency = peaked_saliency(BATCH)
    cases = []
    for block_num in (2, 4, 8, 16):
        config = PuzzleMixConfig(block_nums=(block_num,), labeling_backend=backend)
        cases.append((draw_params(BATCH, config, torch.Generator().manual_seed(0)), config))

    def masks():
        return [graph_cut_mask(x, saliency, params, config) for params, config in cases]

    result = benchmark(masks)

    assert [mask.shape[-1] for mask in result] == [2, 4, 8, 16]
