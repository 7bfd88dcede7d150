"""The compiled swap against GCO, the backend choice and its fallbacks, parallel partitions.

The compiled backend makes GCO's moves in GCO's order from GCO's start and takes the cut GCO's
max-flow reports, so the two must agree exactly: same labels, hence same energy, on every
problem (not only where the swap's fixed point is unique).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from baselines.puzzle_mix import PuzzleMixConfig, draw_params, graph_cut_mask
from comixup import (
    CoMixupConfig,
    co_mixup_labeling,
    compatibility_matrix,
    parallel,
    salient_distances,
)
from comixup import labeling as backends
from comixup.compiled_swap import CompiledSwap
from comixup.graphcut import GridSwap
from comixup.objective import objective
from comixup.parallel import solve_partitions
from comixup.saliency import normalize_saliency, pool_to_grid
from comixup.solver import solve_labeling


def grid_energy(swap: CompiledSwap, unary, pairwise, weights, labels) -> int:
    """``sum unary[s, l_s] + sum_e w_e pairwise[l_s, l_t]`` in Python integers."""
    total = sum(int(unary[s, label]) for s, label in enumerate(labels))
    for a, b, w in zip(swap.starts, swap.ends, weights, strict=True):
        total += int(w) * int(pairwise[labels[a], labels[b]])
    return total


@st.composite
def swap_problems(draw):
    """A grid, integer unary costs, a squared-distance label table (a semi-metric, as the
    solvers use) and per-edge weights; small value ranges make many ties."""
    height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n_labels = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([3, 1000, 10**6]))
    rng = np.random.default_rng(seed)
    unary = rng.integers(-spread, spread, size=(height * width, n_labels)).astype(np.intc)
    states = rng.integers(0, 3, size=(n_labels, draw(st.integers(1, 3))))
    pairwise = np.square(states[:, None] - states[None]).sum(-1).astype(np.intc)
    n_edges = (height - 1) * width + height * (width - 1)
    weights = rng.integers(0, draw(st.sampled_from([2, 50, 5000])), size=n_edges).astype(np.intc)
    return height, width, unary, pairwise, weights


@given(swap_problems())
def test_compiled_swap_gives_gcos_labels(problem):
    height, width, unary, pairwise, weights = problem
    compiled = CompiledSwap(height, width)

    expected = GridSwap(height, width)(unary, pairwise, weights)
    labels = compiled(unary, pairwise, weights)

    np.testing.assert_array_equal(labels, expected)
    energy = grid_energy(compiled, unary, pairwise, weights, labels)
    assert compiled.energy == energy


@given(swap_problems(), st.integers(0, 2**32 - 1))
def test_a_warm_start_never_raises_the_energy(problem, seed):
    height, width, unary, pairwise, weights = problem
    compiled = CompiledSwap(height, width)
    start = np.random.default_rng(seed).integers(0, unary.shape[1], size=height * width)

    labels = compiled(unary, pairwise, weights, init=start)

    assert compiled.energy <= grid_energy(compiled, unary, pairwise, weights, start)
    assert compiled.energy == grid_energy(compiled, unary, pairwise, weights, labels)
    # a swap-local minimum is a fixed point of the energy
    compiled(unary, pairwise, weights, init=labels)
    assert compiled.energy == grid_energy(compiled, unary, pairwise, weights, labels)


def test_compiled_swap_uses_the_uniform_edge_weight():
    unary = np.array([[0, 10], [0, 10], [10, 0], [0, 10]], dtype=np.intc)
    pairwise = np.array([[0, 1], [1, 0]], dtype=np.intc)
    swap = CompiledSwap(1, 4)
    np.testing.assert_array_equal(swap(unary, pairwise, swap.uniform_weights(1000)), [0, 0, 0, 0])
    np.testing.assert_array_equal(swap(unary, pairwise, swap.uniform_weights(1)), [0, 0, 1, 0])


def test_compiled_swap_refuses_bad_inputs():
    swap = CompiledSwap(2, 2)
    pairwise = np.array([[0, 1], [1, 0]], dtype=np.intc)
    weights = swap.uniform_weights(1)
    with pytest.raises(ValueError, match="at least two labels"):
        swap(np.zeros((4, 1), np.intc), np.zeros((1, 1), np.intc), weights)
    with pytest.raises(ValueError, match="expected 4 int32 edge weights"):
        swap(np.zeros((4, 2), np.intc), pairwise, np.ones(3, np.intc))
    with pytest.raises(ValueError, match="expected 4 int32 edge weights"):
        swap(np.zeros((4, 2), np.intc), pairwise, np.ones(4, np.int64))
    with pytest.raises(ValueError, match=r"init must hold 4 labels in \[0, 2\)"):
        swap(np.zeros((4, 2), np.intc), pairwise, weights, init=np.array([0, 1, 2, 0]))
    # V[0,0] + V[1,1] > V[0,1] + V[1,0]: no graph cut represents this move
    with pytest.raises(ValueError, match="not submodular"):
        swap(np.zeros((4, 2), np.intc), np.array([[5, 0], [0, 5]], dtype=np.intc), weights)


def blob_saliency(batch: int, rng: np.random.Generator, size: int = 32) -> torch.Tensor:
    """One Gaussian blob at a random place per image plus a little noise: (B, size, size)."""
    rows, cols = np.mgrid[:size, :size]
    centres = rng.uniform(0, size, size=(batch, 2, 1, 1))
    widths = rng.uniform(2, 6, size=(batch, 1, 1))
    blob = np.exp(-((rows - centres[:, 0]) ** 2 + (cols - centres[:, 1]) ** 2) / (2 * widths**2))
    return torch.from_numpy(blob + 0.05 * rng.random((batch, size, size))).float()


def test_solve_labeling_is_the_same_with_either_backend():
    """100 realistic partitions (20 inputs, 4x4 grid, paper defaults): identical labelings,
    hence the same mean objective."""
    rng = np.random.default_rng(0)
    objectives = {"gco": [], "compiled": []}
    for seed in range(100):
        saliency = blob_saliency(20, rng)
        cost = -normalize_saliency(pool_to_grid(saliency, 4))
        A = compatibility_matrix(salient_distances(saliency), 0.001)
        prior = torch.from_numpy(rng.dirichlet(np.full(20, 2.0)))
        labelings = {}
        for backend in objectives:
            config = CoMixupConfig(labeling_backend=backend)
            generator = torch.Generator().manual_seed(seed)
            z = solve_labeling(cost, A, 20, config, generator, prior=prior)
            labelings[backend] = z
            objectives[backend].append(objective(cost, z, A, config, prior=prior))
        torch.testing.assert_close(labelings["compiled"], labelings["gco"], rtol=0, atol=0)
    assert np.mean(objectives["compiled"]) == np.mean(objectives["gco"])


@pytest.mark.parametrize("backend", ["compiled", "gco"])
def test_partitions_in_parallel_equal_sequential(backend):
    saliency = blob_saliency(70, np.random.default_rng(1))  # 4 partitions, the last of 10
    results = []
    for threads in (1, 3):
        config = CoMixupConfig(labeling_backend=backend, solver_threads=threads)
        results.append(
            co_mixup_labeling(saliency, config, generator=torch.Generator().manual_seed(5))
        )
    assert [z.shape[0] for z in results[0]] == [20, 20, 20, 10]
    for sequential, threaded in zip(*results, strict=True):
        torch.testing.assert_close(threaded, sequential, rtol=0, atol=0)


def test_solve_partitions_takes_an_executor_and_matches_solve_labeling():
    rng = np.random.default_rng(2)
    config = CoMixupConfig()
    jobs = []
    for _ in range(3):
        saliency = blob_saliency(6, rng)
        cost = -normalize_saliency(pool_to_grid(saliency, 4))
        jobs.append((cost, compatibility_matrix(salient_distances(saliency), 0.001), 6))
    generator = torch.Generator().manual_seed(3)
    expected = [solve_labeling(c, A, n, config, generator) for c, A, n in jobs]

    with ThreadPoolExecutor(2) as pool:
        labelings = solve_partitions(jobs, config, torch.Generator().manual_seed(3), pool)

    for z, z_expected in zip(labelings, expected, strict=True):
        torch.testing.assert_close(z, z_expected, rtol=0, atol=0)


@pytest.fixture
def fresh_imports():
    """Forget which backends imported, before and after the test."""
    backends._importable.cache_clear()
    yield
    backends._importable.cache_clear()


def test_missing_gco_falls_back_to_the_compiled_backend(monkeypatch, fresh_imports):
    monkeypatch.setitem(sys.modules, "gco.cgco", None)  # `import gco.cgco` now fails
    with pytest.warns(RuntimeWarning, match="pyGCO .* does not import; using the compiled"):
        swap = backends.make_swap(4, 4, backend="gco")
    assert isinstance(swap, CompiledSwap)


def test_missing_numba_falls_back_to_gco(monkeypatch, fresh_imports):
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.warns(RuntimeWarning, match="numba does not import; using GCO"):
        swap = backends.make_swap(4, 4, backend="compiled")
    assert isinstance(swap, GridSwap)


def test_no_backend_at_all_says_what_to_install(monkeypatch, fresh_imports):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setitem(sys.modules, "gco.cgco", None)
    with pytest.raises(ImportError, match="pip install numba"):
        backends.make_swap(4, 4)


def test_the_default_backend_is_compiled_without_a_warning(recwarn, fresh_imports):
    assert isinstance(backends.make_swap(2, 2), CompiledSwap)
    assert isinstance(backends.make_swap(2, 2, backend="gco"), GridSwap)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_backend_and_thread_settings_are_checked():
    with pytest.raises(ValueError, match="choose 'compiled' or 'gco'"):
        CoMixupConfig(labeling_backend="maxflow")
    with pytest.raises(ValueError, match="solver_threads=0"):
        CoMixupConfig(solver_threads=0)
    with pytest.raises(ValueError, match="unknown labeling backend 'x'"):
        backends.make_swap(2, 2, backend="x")


def test_a_forked_child_gets_a_pool_of_its_own():
    pool = parallel.thread_pool(2)
    assert parallel.thread_pool(2) is pool
    pid = os.fork()
    if pid == 0:  # the child: the inherited pool has no threads here, a new one must run
        child_pool = parallel.thread_pool(2)
        ok = child_pool is not pool and child_pool.submit(lambda: 7).result(timeout=10) == 7
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("block_num", [2, 4, 8, 16])
def test_puzzle_mix_masks_are_the_same_with_either_backend(block_num):
    x = torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(block_num))
    saliency = blob_saliency(12, np.random.default_rng(block_num))
    masks = []
    for backend in ("gco", "compiled"):
        config = PuzzleMixConfig(block_nums=(block_num,), labeling_backend=backend)
        params = draw_params(12, config, torch.Generator().manual_seed(0))
        masks.append(graph_cut_mask(x, saliency, params, config))
    assert masks[0].shape == (12, block_num, block_num)
    torch.testing.assert_close(masks[1], masks[0], rtol=0, atol=0)
