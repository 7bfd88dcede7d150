"""Class activation maps, the CAM box, IoU and localisation top-1 on hand-made cases, and the
maps of every image model of the zoo."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.evaluation.localization import (
    EMPTY_BOX,
    cam_box,
    class_activation_maps,
    iou,
    localization_correct,
    localization_maps,
    localize,
)
from benchmarks.models import get_model

# ------------------------------------------------------------------------------- IoU ------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),
        ([0, 0, 2, 2], [1, 0, 3, 2], 2 / 6),  # half a side shifted: overlap 2, union 6
        ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16),  # nested
        ([0, 0, 2, 2], [2, 0, 4, 2], 0.0),  # touching edges share no pixel
        # Apart in both axes: the official formula multiplies the two negative extents into a
        # positive "overlap" of 1 and returns 1.0 here.
        ([0, 0, 1, 1], [2, 2, 3, 3], 0.0),
    ],
)
def test_iou_of_hand_made_boxes(a, b, expected):
    value = iou(torch.tensor(a), torch.tensor(b))
    assert value.shape == (1, 1)
    assert value.item() == pytest.approx(expected)
    assert iou(torch.tensor(b), torch.tensor(a)).item() == pytest.approx(expected)


def test_iou_of_sets_of_boxes_is_a_matrix():
    a = torch.tensor([[0, 0, 2, 2], [0, 0, 4, 4]])
    b = torch.tensor([[0, 0, 2, 2], [1, 1, 3, 3], [10, 10, 12, 12]])
    expected = torch.tensor([[1.0, 1 / 7, 0.0], [4 / 16, 4 / 16, 0.0]])
    torch.testing.assert_close(iou(a, b), expected)


def test_iou_refuses_inverted_boxes():
    with pytest.raises(ValueError, match=r"x1 >= x0"):
        iou(torch.tensor([2, 0, 0, 2]), torch.tensor([0, 0, 2, 2]))


# --------------------------------------------------------------------------- CAM box ------


def blob(height=32, width=40, rows=slice(5, 10), cols=slice(10, 18), value=1.0):
    cam = torch.zeros(height, width)
    cam[rows, cols] = value
    return cam


def test_cam_box_of_a_known_blob_is_its_bounding_box():
    cam = blob() + 0.01 * torch.rand(32, 40, generator=torch.Generator().manual_seed(0))
    # Pixel edges: columns 10..17 and rows 5..9 give x1 = 18, y1 = 10.
    assert cam_box(cam).tolist() == [10, 5, 18, 10]


def test_cam_box_takes_the_largest_region():
    cam = blob(rows=slice(2, 4), cols=slice(2, 4))  # 4 pixels, the brightest
    cam[20:26, 20:30] = 0.9  # 60 pixels
    cam[2:4, 2:4] = 1.0
    assert cam_box(cam).tolist() == [20, 20, 30, 26]


def test_diagonal_neighbours_are_one_region():
    cam = torch.zeros(10, 10)
    for i in range(2, 7):
        cam[i, i] = 1.0  # a diagonal line: 8-connected, one region
    cam[0, 9] = 1.0
    assert cam_box(cam).tolist() == [2, 2, 7, 7]


def test_cam_box_threshold_is_strict_on_the_8_bit_map():
    cam = torch.zeros(8, 8)
    cam[0, 0] = 1.0
    cam[4:8, 4:8] = 0.25  # 63.75 -> 63, not above int(0.25 * 255) = 63: left out
    assert cam_box(cam, 0.25).tolist() == [0, 0, 1, 1]
    cam[4:8, 4:8] = 0.252  # 64.26 -> 64: kept, and larger than the single peak
    assert cam_box(cam, 0.25).tolist() == [4, 4, 8, 8]
    assert cam_box(cam, 0.5).tolist() == [0, 0, 1, 1]


def test_a_constant_map_gives_the_official_empty_box():
    assert cam_box(torch.full((6, 6), 3.0)).tolist() == list(EMPTY_BOX)


def test_cam_box_checks_its_input():
    with pytest.raises(ValueError, match=r"one \(H, W\) map"):
        cam_box(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        cam_box(torch.zeros(4, 4), 25)


# ----------------------------------------------------------------------------- maps ------


class PooledPixels(nn.Module):
    """A 'network' whose last features are the image average-pooled 4x4: its CAM is a
    weighted sum of the image's channels, so where the image is bright is known."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]))
            self.linear.bias.copy_(torch.tensor([0.0, 0.1]))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.feature_map(x).mean(dim=(2, 3)))


def test_cam_is_the_features_weighted_by_the_classifier():
    torch.manual_seed(0)
    model = PooledPixels()
    with torch.no_grad():
        model.linear.weight.normal_()
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    logits, cams = class_activation_maps(model, x)
    torch.testing.assert_close(logits, model(x))
    features = F.avg_pool2d(x, 4)
    for i in range(4):
        k = int(logits[i].argmax())
        expected = sum(model.linear.weight[k, c] * features[i, c] for c in range(3))
        torch.testing.assert_close(cams[i], expected)
    chosen = torch.tensor([1, 1, 0, 0])
    _, for_chosen = class_activation_maps(model, x, classes=chosen)
    w = model.linear.weight.detach()
    torch.testing.assert_close(for_chosen[0], torch.einsum("c,chw->hw", w[1], features[0]))


def test_maps_are_normalised_and_sized_like_the_input():
    cams = torch.zeros(2, 8, 8)
    cams[0, 2, 5] = 4.0
    cams[1] = 7.0  # constant
    maps = localization_maps(cams, (32, 32), smoothing=1)
    assert maps.shape == (2, 32, 32)
    assert maps[0].min() == 0 and maps[0].max() == 1
    peak = divmod(int(maps[0].argmax()), 32)
    assert 8 <= peak[0] < 12 and 20 <= peak[1] < 24  # the peak's 4x4 cell at input size
    assert bool((maps[1] == 0).all())


def test_smoothing_sums_3x3_neighbourhoods_with_zero_padding():
    cams = torch.arange(16.0).reshape(1, 4, 4)
    # At the feature map's own size bicubic up-sampling is the identity.
    maps = localization_maps(cams, (4, 4))
    summed = torch.tensor(
        [[10.0, 18, 24, 18], [27, 45, 54, 39], [51, 81, 90, 63], [42, 66, 72, 50]]
    )
    torch.testing.assert_close(maps[0], (summed - 10) / 80)


def test_the_pipeline_boxes_a_bright_square():
    model = PooledPixels().eval()
    x = torch.zeros(1, 3, 32, 32)
    x[:, :, 8:24, 12:28] = 1.0
    logits, maps, boxes = localize(model, x)
    assert int(logits.argmax()) == 0
    assert maps.shape == (1, 32, 32)
    truth = torch.tensor([[12.0, 8.0, 28.0, 24.0]])
    # The 3x3 neighbourhood sum widens the map by one feature cell (4 pixels) on each side,
    # less what the threshold cuts: the box holds the square and still localises it.
    x0, y0, x1, y1 = boxes[0].tolist()
    assert x0 <= 12 and y0 <= 8 and x1 >= 28 and y1 >= 24
    assert x0 >= 12 - 4 and y0 >= 8 - 4 and x1 <= 28 + 4 and y1 <= 24 + 4
    assert localization_correct(logits, torch.tensor([0]), boxes, [truth]).item()


# ---------------------------------------------------------------- localisation top-1 ------


def test_localization_needs_the_right_class_and_a_matching_box():
    logits = torch.tensor([[3.0, 1.0], [3.0, 1.0], [1.0, 3.0], [3.0, 1.0], [3.0, 1.0]])
    labels = torch.tensor([0, 0, 0, 0, 0])
    boxes = torch.tensor([[0, 0, 10, 10]] * 5, dtype=torch.float32)
    truth = [
        torch.tensor([[0.0, 0.0, 10.0, 10.0]]),  # right class, IoU 1: localised
        torch.tensor([[50.0, 50.0, 60.0, 60.0], [0.0, 0.0, 10.0, 20.0]]),  # IoU 0.5 with one
        torch.tensor([[0.0, 0.0, 10.0, 10.0]]),  # perfect box, wrong class
        torch.tensor([[0.0, 0.0, 10.0, 21.0]]),  # IoU 100/210 < 0.5
        torch.zeros(0, 4),  # no true box
    ]
    correct = localization_correct(logits, labels, boxes, truth)
    assert correct.tolist() == [True, True, False, False, False]


def test_localization_correct_counts_items():
    with pytest.raises(ValueError, match="one logits row"):
        localization_correct(torch.zeros(2, 3), torch.zeros(2), torch.zeros(1, 4), [])


# ------------------------------------------------------------------------ the zoo ------

ZOO = [
    ("preactresnet18", {"width": 4}, 32),
    ("wrn16_8", {"width": 8}, 32),
    ("resnext29_4_24", {"width": 4}, 32),
    ("resnet50", {}, 64),
]


@pytest.mark.parametrize(("name", "keywords", "size"), ZOO, ids=[z[0] for z in ZOO])
def test_the_zoo_cams_average_to_the_logits(name, keywords, size):
    torch.manual_seed(0)
    model = get_model(name, 5, **keywords)
    model.train()
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    model(x)  # move the batch-norm statistics off their initial values
    model.eval()
    logits, cams = class_activation_maps(model, x)
    with torch.no_grad():
        torch.testing.assert_close(logits, model(x), rtol=1e-4, atol=1e-5)
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    predicted = logits.argmax(dim=1)
    torch.testing.assert_close(
        cams.mean(dim=(1, 2)) + linear.bias[predicted], logits.gather(1, predicted[:, None])[:, 0]
    )
    assert cams.shape[1:] == model.feature_map(x).shape[2:]


def test_a_model_without_feature_map_is_refused():
    with pytest.raises(ValueError, match="no feature_map"):
        class_activation_maps(get_model("lenet", 3), torch.zeros(1, 1, 160, 100))
