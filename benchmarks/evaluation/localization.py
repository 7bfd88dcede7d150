"""Weakly supervised localisation with class activation maps (Zhou et al., "Learning Deep
Features for Discriminative Localization", CVPR 2016), as the official Co-Mixup
``comix-localization`` evaluation computes it.

A class activation map is the last convolutional feature map weighted by one class's classifier
weights, ``M_k(x, y) = sum_c w[k, c] F_c(x, y)``: for a network that averages ``F`` over space
and applies a linear layer, the spatial mean of ``M_k`` plus the bias is exactly logit k. The
official pipeline (``util/cam.py``, ``util/bbox_generator.py``, ``util/eval_iou.py``,
``eval.py``, run with ``--th 0.25`` by ``eval_loc.sh``) then:

1. takes the map of the predicted (top-1) class, without bias and without ReLU;
2. sums it over 3x3 neighbourhoods (a 3x3 all-ones convolution, zero padding);
3. up-samples it bicubically to the input's size and min-max normalises it to [0, 1];
4. quantises it to 8 bits, keeps the pixels strictly above ``int(0.25 * max)`` (OpenCV's
   ``THRESH_BINARY``), and boxes the largest region (``cv2.findContours`` +
   ``cv2.boundingRect``: ``x0, y0, x0 + w, y0 + h``); no region gives the box (0, 0, 1, 1);
5. counts an image as localised when its top-1 class is right and the box's IoU with some
   ground-truth box is at least 0.5.

Boxes are ``(x0, y0, x1, y1)`` in pixel edges: a box covers the pixels ``x0 <= x < x1``, its
area is ``(x1 - x0) (y1 - y0)`` with no +1 (the official ``eval_iou``'s "pascal" mode).
Departures, each for a reason: the largest region is the 8-connected component with the most
pixels (scipy.ndimage), where OpenCV ranks contours by polygon area, which gives a one-pixel-wide
line no area at all; the IoU's overlap is clipped at 0 (``torchvision.ops.box_iou``), where the
official formula multiplies two negative extents of boxes apart in both axes into a positive
"overlap"; and the min-max normalisation is per image, where the official one spans the batch
(its batch holds one image, so the two agree).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn
from torchvision.ops import box_iou

CAM_THRESHOLD = 0.25
"""Official ``eval_loc.sh`` / ``eval_robust_*.sh``: ``--th 0.25``, a quarter of the map's max."""

IOU_THRESHOLD = 0.5
"""Official ``eval.py``: localised when ``iou >= 0.5`` and the top-1 class is right."""

SMOOTHING = 3
"""Official ``CAM(model, feature, linear, factor, 3, 1)``: a 3x3 all-ones kernel, padding 1."""

EMPTY_BOX = (0.0, 0.0, 1.0, 1.0)
"""Official ``BboxGenerator``: the box when no pixel passes the threshold."""


def classifier_of(model: nn.Module) -> nn.Linear:
    """The linear layer that reads the model's pooled :meth:`feature_map` (the last one).

    Raises:
        ValueError: when the model has no ``feature_map`` method or no linear layer.
    """
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not callable(getattr(model, "feature_map", None)) or not linears:
        raise ValueError(
            f"{type(model).__name__} has no feature_map(x) method and final linear layer, so "
            "no class activation map; use one of the image models of benchmarks.models "
            "(preactresnet18, wrn16_8, resnext29_4_24, resnet50)."
        )
    return linears[-1]


@torch.no_grad()
def class_activation_maps(
    model: nn.Module, images: torch.Tensor, *, classes: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, cams)``: the model's logits (B, K) and each image's class activation map
    (B, h, w) at the feature map's resolution, for ``classes`` (B,) or, by default, the
    predicted class, as the official evaluation does.

    The logits are computed from the same features (mean over space, then the classifier), so
    they equal ``model(images)`` for the suite's models; the maps carry no bias and no ReLU.
    The model should be in eval mode (batch norm with running statistics).
    """
    linear = classifier_of(model)
    features = model.feature_map(images)  # (B, C, h, w)
    if features.ndim != 4 or features.shape[1] != linear.in_features:
        raise ValueError(
            f"{type(model).__name__}.feature_map gave {tuple(features.shape)}, but its last "
            f"linear layer reads {linear.in_features} features; feature_map must return the "
            "(B, C, h, w) map that forward averages and classifies."
        )
    logits = linear(features.mean(dim=(2, 3)))
    chosen = logits.argmax(dim=1) if classes is None else classes.to(logits.device)
    cams = torch.einsum("bc,bchw->bhw", linear.weight[chosen], features)
    return logits, cams


def localization_maps(
    cams: torch.Tensor, size: tuple[int, int], *, smoothing: int = SMOOTHING
) -> torch.Tensor:
    """The official post-processing of raw maps (B, h, w): a ``smoothing`` x ``smoothing``
    neighbourhood sum (zero padding), bicubic up-sampling to ``size`` (H, W), and min-max
    normalisation per image to [0, 1] (a constant map becomes all zeros)."""
    maps = cams[:, None].float()
    if smoothing > 1:
        kernel = torch.ones(1, 1, smoothing, smoothing, device=maps.device)
        maps = F.conv2d(maps, kernel, padding=smoothing // 2)
    maps = F.interpolate(maps, size=size, mode="bicubic", align_corners=False)[:, 0]
    low = maps.amin(dim=(1, 2), keepdim=True)
    spread = maps.amax(dim=(1, 2), keepdim=True) - low
    return torch.where(spread > 0, (maps - low) / spread.clamp_min(1e-12), 0.0)


def cam_box(cam: torch.Tensor, threshold: float = CAM_THRESHOLD) -> torch.Tensor:
    """The box (x0, y0, x1, y1) of one map (H, W): its 8-bit copy thresholded strictly above
    ``int(threshold * max)``, the bounding box of the largest 8-connected region (pixel edges:
    x1 is one past the last column). ``EMPTY_BOX`` when no pixel passes (a constant map)."""
    if cam.ndim != 2:
        raise ValueError(f"cam_box takes one (H, W) map, got shape {tuple(cam.shape)}.")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a share of the map's maximum in [0, 1], got {threshold}.")
    values = cam.detach().float().cpu().numpy()
    spread = values.max() - values.min()
    if spread <= 0:
        return torch.tensor(EMPTY_BOX)
    # The official 8-bit quantisation (truncation) decides which pixels sit at the threshold.
    gray = np.clip((values - values.min()) / spread * 255, 0, 255).astype(np.uint8)
    mask = gray > int(threshold * int(gray.max()))
    regions, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return torch.tensor(EMPTY_BOX)
    sizes = np.bincount(regions.ravel())[1:]
    rows, cols = np.nonzero(regions == 1 + int(sizes.argmax()))
    return torch.tensor(
        [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=torch.float32
    )


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4),
    (N, M); boxes are (x0, y0, x1, y1) pixel edges, areas without +1, overlaps clipped at 0.
    A single box (4,) is taken as one row."""
    a, b = torch.atleast_2d(a).float(), torch.atleast_2d(b).float()
    for name, boxes in (("a", a), ("b", b)):
        if boxes.shape[-1] != 4 or bool((boxes[:, 2:] < boxes[:, :2]).any()):
            raise ValueError(
                f"{name} must hold (x0, y0, x1, y1) boxes with x1 >= x0 and y1 >= y0, got "
                f"{boxes.tolist()}."
            )
    return box_iou(a, b)


def localization_correct(
    logits: torch.Tensor,
    labels: torch.Tensor,
    boxes: torch.Tensor,
    true_boxes: list[torch.Tensor],
    *,
    iou_threshold: float = IOU_THRESHOLD,
) -> torch.Tensor:
    """Per image (B,), whether localisation top-1 holds: the top-1 class is ``labels`` and the
    predicted box ``boxes[i]`` (B, 4) overlaps one of ``true_boxes[i]`` (k_i, 4) with IoU of at
    least ``iou_threshold`` (the best over the true boxes, as the official ``eval.py``). An
    image without true boxes is never localised."""
    if not len(logits) == len(labels) == len(boxes) == len(true_boxes):
        raise ValueError(
            f"one logits row, label, box and list of true boxes per image; got {len(logits)}, "
            f"{len(labels)}, {len(boxes)} and {len(true_boxes)}."
        )
    right = logits.argmax(dim=1).cpu() == labels.cpu()
    overlap = torch.tensor(
        [
            bool(len(truth)) and bool(iou(box.cpu(), truth.cpu()).max() >= iou_threshold)
            for box, truth in zip(boxes, true_boxes, strict=True)
        ],
        dtype=torch.bool,
    )
    return right & overlap


@torch.no_grad()
def localize(
    model: nn.Module, images: torch.Tensor, *, threshold: float = CAM_THRESHOLD
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(logits, maps, boxes)`` of a batch: the logits (B, K), the predicted class's
    normalised map at the input's size (B, H, W) and its box (B, 4), the official pipeline."""
    logits, cams = class_activation_maps(model, images)
    maps = localization_maps(cams, tuple(images.shape[-2:]))
    boxes = [cam_box(one, threshold) for one in maps]
    return logits, maps, torch.stack(boxes) if boxes else maps.new_zeros(0, 4)
