"""The compatibility matrix A = (1 - omega) I + omega A_c from salient locations."""

from __future__ import annotations

import pytest
import torch

from comixup import compatibility_matrix, salient_distances, salient_locations


def test_salient_location_of_a_single_peak():
    saliency = torch.rand(3, 12, 10, generator=torch.Generator().manual_seed(0)) * 0.1
    peaks = [(0, 0), (7, 3), (11, 9)]
    for b, (r, c) in enumerate(peaks):
        saliency[b, r, c] = 5.0
    locations = salient_locations(saliency, window=1)
    assert locations.tolist() == [list(map(float, peak)) for peak in peaks]


def test_salient_location_of_a_window_sized_blob():
    """With the default 8x8 window, the top-left corner of an 8x8 salient square."""
    saliency = torch.zeros(2, 16, 16)
    saliency[0, 3:11, 5:13] = 1.0
    saliency[1, 8:16, 0:8] = 1.0
    saliency[1, 0, 15] = 2.0  # a single bright pixel is less salient than the square
    assert salient_locations(saliency).tolist() == [[3.0, 5.0], [8.0, 0.0]]


def test_salient_location_window_larger_than_image():
    saliency = torch.rand(2, 4, 6)
    locations = salient_locations(saliency)  # window 8 shrinks to 4
    assert locations[:, 0].tolist() == [0.0, 0.0]
    assert torch.all((locations[:, 1] >= 0) & (locations[:, 1] <= 2))


def test_salient_distances_are_l1():
    saliency = torch.zeros(3, 10, 10)
    for b, (r, c) in enumerate([(0, 0), (2, 5), (9, 1)]):
        saliency[b, r, c] = 1.0
    distances = salient_distances(saliency, window=1)
    expected = torch.tensor([[0.0, 7.0, 10.0], [7.0, 0.0, 11.0], [10.0, 11.0, 0.0]])
    torch.testing.assert_close(distances, expected)


def test_salient_distances_symmetric_zero_diagonal():
    saliency = torch.rand(6, 16, 16, generator=torch.Generator().manual_seed(2)) ** 4
    distances = salient_distances(saliency)
    torch.testing.assert_close(distances, distances.T)
    assert torch.all(distances.diagonal() == 0)
    assert torch.all(distances >= 0)


def test_salient_locations_reject_bad_saliency():
    with pytest.raises(ValueError, match="saliency must be non-negative"):
        salient_locations(-torch.ones(1, 8, 8))


@pytest.mark.parametrize("omega", [0.0, 0.001, 0.3, 1.0])
def test_compatibility_matrix(omega):
    locations = torch.tensor([[0.0, 0.0], [2.0, 5.0], [9.0, 1.0], [4.0, 4.0]])
    distances = torch.cdist(locations, locations, p=1)
    m = 4
    A = compatibility_matrix(distances, omega)

    scaled = distances * m / distances.sum()
    torch.testing.assert_close(A, (1 - omega) * torch.eye(m) + omega * scaled)
    torch.testing.assert_close(A.diagonal(), torch.full((m,), 1 - omega))
    off_diagonal = A - torch.diag(A.diagonal())
    torch.testing.assert_close(off_diagonal.sum(), torch.tensor(omega * m))
    torch.testing.assert_close(A, A.T)


def test_compatibility_matrix_all_zero_distances():
    A = compatibility_matrix(torch.zeros(5, 5), 0.3)
    torch.testing.assert_close(A, 0.7 * torch.eye(5))


def test_compatibility_matrix_needs_a_square_matrix():
    with pytest.raises(ValueError, match=r"distances must be a square \(m, m\) matrix"):
        compatibility_matrix(torch.zeros(3, 4), 0.1)
