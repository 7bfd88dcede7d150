"""Co-Mixup core: the objective, Algorithm 1, saliency, compatibility and mixing.

Tensors in, tensors out; nothing here knows of datasets, training loops or MLflow.
"""

from comixup.compatibility import compatibility_matrix, salient_distances, salient_locations
from comixup.config import CoMixupConfig
from comixup.mixing import (
    CoMixup,
    co_mixup,
    co_mixup_labeling,
    mix_inputs,
    mix_labels,
    unary_cost,
)
from comixup.objective import objective, objective_terms
from comixup.saliency import (
    input_gradient_saliency,
    normalize_saliency,
    pool_to_grid,
    saliency_from_gradient,
)
from comixup.solver import solve_labeling

__all__ = [
    "CoMixup",
    "CoMixupConfig",
    "co_mixup",
    "co_mixup_labeling",
    "compatibility_matrix",
    "input_gradient_saliency",
    "mix_inputs",
    "mix_labels",
    "normalize_saliency",
    "objective",
    "objective_terms",
    "pool_to_grid",
    "saliency_from_gradient",
    "salient_distances",
    "salient_locations",
    "solve_labeling",
    "unary_cost",
]
