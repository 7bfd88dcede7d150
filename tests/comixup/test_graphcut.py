"""GridSwap makes the same pyGCO calls as gco.cut_grid_graph, so its labels must match."""

import gco
import numpy as np
import pytest

from comixup.graphcut import (
    ENERGY_RANGE,
    ENERGY_SCALE,
    GridSwap,
    energy_scale,
    grid_edges,
    to_int32,
)


@pytest.mark.parametrize(("height", "width", "n_labels"), [(2, 2, 3), (4, 4, 20), (3, 5, 7)])
def test_grid_swap_matches_cut_grid_graph(height, width, n_labels):
    rng = np.random.default_rng(height * 100 + width * 10 + n_labels)
    for _ in range(20):
        unary = rng.integers(0, 1000, size=(height * width, n_labels)).astype(np.intc)
        states = rng.integers(0, 3, size=(n_labels, 4))
        pairwise = np.square(states[:, None] - states[None]).sum(-1).astype(np.intc)
        np.fill_diagonal(pairwise, 0)
        edge = int(rng.integers(1, 400))
        expected = gco.cut_grid_graph(
            unary.reshape(height, width, n_labels),
            pairwise,
            np.full((height - 1, width), edge, dtype=np.intc),
            np.full((height, width - 1), edge, dtype=np.intc),
            algorithm="swap",
        )
        swap = GridSwap(height, width)
        labels = swap(unary, pairwise, swap.uniform_weights(edge))
        np.testing.assert_array_equal(labels, expected)


def test_grid_edges_are_the_four_neighbours():
    starts, ends = grid_edges(2, 3)
    edges = set(zip(starts.tolist(), ends.tolist(), strict=True))
    assert edges == {(0, 3), (1, 4), (2, 5), (0, 1), (1, 2), (3, 4), (4, 5)}


def test_grid_swap_on_a_single_row_uses_only_horizontal_edges():
    swap = GridSwap(1, 4)
    unary = np.array([[0, 10], [0, 10], [10, 0], [0, 10]], dtype=np.intc)
    pairwise = np.array([[0, 1], [1, 0]], dtype=np.intc)
    # A strong edge weight pulls the lone label-1 site to its neighbours' label.
    np.testing.assert_array_equal(swap(unary, pairwise, swap.uniform_weights(1000)), [0, 0, 0, 0])
    np.testing.assert_array_equal(swap(unary, pairwise, swap.uniform_weights(1)), [0, 0, 1, 0])
    # Per-edge weights: a strong edge pulls site 2 only when it touches site 2.
    strong_far = np.array([1000, 1, 1], dtype=np.intc)
    strong_near = np.array([1, 1000, 1], dtype=np.intc)
    np.testing.assert_array_equal(swap(unary, pairwise, strong_far), [0, 0, 1, 0])
    np.testing.assert_array_equal(swap(unary, pairwise, strong_near), [0, 0, 0, 0])


def test_grid_swap_refuses_a_single_label():
    # GCO aborts the process on one label; the helper must refuse first.
    with pytest.raises(ValueError, match="at least two labels"):
        swap = GridSwap(2, 2)
        swap(np.zeros((4, 1), np.intc), np.zeros((1, 1), np.intc), swap.uniform_weights(1))


def test_grid_swap_refuses_edge_weights_of_the_wrong_shape_or_type():
    swap = GridSwap(2, 2)
    unary, pairwise = np.zeros((4, 2), np.intc), np.array([[0, 1], [1, 0]], np.intc)
    with pytest.raises(ValueError, match="expected 4 int32 edge weights"):
        swap(unary, pairwise, np.ones(3, np.intc))
    with pytest.raises(ValueError, match="expected 4 int32 edge weights"):
        swap(unary, pairwise, np.ones(4))


def test_energy_scale_keeps_the_largest_term_in_range():
    assert energy_scale(1.0) == ENERGY_SCALE
    np.testing.assert_allclose(
        energy_scale(np.array([0.5, 1e3])), [ENERGY_SCALE, ENERGY_RANGE / 1e3]
    )
    costs = np.array([[1e3, -2.4e-7]])
    assert np.abs(to_int32(costs * energy_scale(1e3))).max() <= ENERGY_RANGE
    assert to_int32(costs * energy_scale(1e3)).dtype == np.intc


def test_per_edge_weights_match_cut_grid_graph():
    rng = np.random.default_rng(0)
    for _ in range(10):
        unary = rng.integers(0, 1000, size=(4, 4, 3)).astype(np.intc)
        vertical = rng.integers(0, 300, size=(3, 4)).astype(np.intc)
        horizontal = rng.integers(0, 300, size=(4, 3)).astype(np.intc)
        pairwise = np.square(np.arange(3)[:, None] - np.arange(3)[None]).astype(np.intc)
        expected = gco.cut_grid_graph(unary, pairwise, vertical, horizontal, algorithm="swap")
        weights = np.concatenate([vertical.ravel(), horizontal.ravel()])
        labels = GridSwap(4, 4)(unary.reshape(16, 3), pairwise, weights)
        np.testing.assert_array_equal(labels, expected)
