"""GridSwap makes the same pyGCO calls as gco.cut_grid_graph, so its labels must match."""

import gco
import numpy as np
import pytest

from comixup.graphcut import GridSwap, grid_edges


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
        np.testing.assert_array_equal(GridSwap(height, width, edge)(unary, pairwise), expected)


def test_grid_edges_are_the_four_neighbours():
    starts, ends = grid_edges(2, 3)
    edges = set(zip(starts.tolist(), ends.tolist(), strict=True))
    assert edges == {(0, 3), (1, 4), (2, 5), (0, 1), (1, 2), (3, 4), (4, 5)}


def test_grid_swap_on_a_single_row_uses_only_horizontal_edges():
    swap = GridSwap(1, 4, edge_weight=1000)
    unary = np.array([[0, 10], [0, 10], [10, 0], [0, 10]], dtype=np.intc)
    pairwise = np.array([[0, 1], [1, 0]], dtype=np.intc)
    # A strong edge weight pulls the lone label-1 site to its neighbours' label.
    np.testing.assert_array_equal(swap(unary, pairwise), [0, 0, 0, 0])
    np.testing.assert_array_equal(GridSwap(1, 4, edge_weight=1)(unary, pairwise), [0, 0, 1, 0])


def test_grid_swap_refuses_a_single_label():
    # GCO aborts the process on one label; the helper must refuse first.
    with pytest.raises(ValueError, match="at least two labels"):
        GridSwap(2, 2, edge_weight=1)(np.zeros((4, 1), dtype=np.intc), np.zeros((1, 1), np.intc))
