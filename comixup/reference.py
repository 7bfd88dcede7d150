"""Reference solutions of the Co-Mixup labeling problem, for checking Algorithm 1.

- :func:`brute_force`: the exact minimum of f over all hard labelings (supplement Table 2).
- :func:`random_guess`: the mean of f over uniformly random hard labelings (Table 2's
  baseline, and the denominator of the relative error).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import torch

from comixup.config import CoMixupConfig
from comixup.objective import (
    check_problem,
    compatibility_term,
    objective_np,
    prior_cost,
    scaled_coefficients,
)
from comixup.solver import numpy_rng

MAX_BRUTE_FORCE_LABELINGS = 50_000_000
"""Above this many joint labelings brute force refuses: it is meant for tiny problems."""
_CHUNK = 100_000


class ReferenceResult(NamedTuple):
    """A labeling z of shape (n_output, h, w, m) and its objective value f."""

    z: torch.Tensor
    value: float


def _problem(cost, A, config, prior):
    cost_np = np.asarray(torch.as_tensor(cost).detach().cpu(), dtype=np.float64)
    A_np = np.asarray(torch.as_tensor(A).detach().cpu(), dtype=np.float64)
    check_problem(cost_np, A_np)
    m, height, width = cost_np.shape
    coefficients = scaled_coefficients(config, height * width)
    unary = cost_np.reshape(m, -1).T
    if prior is not None:
        prior_np = np.asarray(torch.as_tensor(prior).detach().cpu(), dtype=np.float64)
        unary = unary + prior_cost(prior_np, coefficients.eta)
    return unary, A_np, (height, width), coefficients


def brute_force(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    *,
    prior: torch.Tensor | None = None,
    clipped: bool = True,
) -> ReferenceResult:
    """The exact minimum of f over every hard labeling (each block takes one input).

    Enumerates the ``m ** n`` labelings of one output once (its unary, smoothness and input
    counts), then every joint choice of ``n_output`` of them in vectorised chunks.

    Raises:
        ValueError: when there are more than ``MAX_BRUTE_FORCE_LABELINGS`` joint labelings.
    """
    if n_output < 1:
        raise ValueError(f"n_output must be at least 1, got {n_output}.")
    unary, A_np, grid, coefficients = _problem(cost, A, config, prior)
    n_blocks, m = unary.shape
    per_output = m**n_blocks
    joint = per_output**n_output
    if joint > MAX_BRUTE_FORCE_LABELINGS:
        raise ValueError(
            f"brute force would enumerate {joint:.3g} labelings (m={m}, n_output={n_output}, "
            f"{n_blocks} blocks); it is limited to {MAX_BRUTE_FORCE_LABELINGS:.0e}. "
            "Use a smaller problem, or compare against random_guess."
        )
    labelings = np.array(list(itertools.product(range(m), repeat=n_blocks)))  # (K, n)
    onehot = np.eye(m)[labelings]  # (K, n, m)
    single = np.array(
        [objective_np(unary, z[None], A_np, grid, coefficients, clipped=False) for z in onehot]
    )  # unary + smoothness of one output alone (no compatibility with itself)
    counts = onehot.sum(1)  # (K, m)
    tau = coefficients.tau if clipped else None
    best_value, best_index = np.inf, 0
    for start in range(0, joint, _CHUNK):
        index = np.arange(start, min(start + _CHUNK, joint))
        digits = np.stack(
            [(index // per_output**j) % per_output for j in range(n_output)], axis=1
        )  # (chunk, m')
        values = single[digits].sum(1) + compatibility_term(
            counts[digits], A_np, coefficients.gamma, tau
        )
        position = int(np.argmin(values))
        if values[position] < best_value:
            best_value, best_index = float(values[position]), int(index[position])
    chosen = [(best_index // per_output**j) % per_output for j in range(n_output)]
    z = onehot[chosen].reshape(n_output, *grid, m)
    return ReferenceResult(torch.from_numpy(z), best_value)


def random_guess(
    cost: torch.Tensor,
    A: torch.Tensor,
    n_output: int,
    config: CoMixupConfig,
    generator: torch.Generator | None = None,
    *,
    n_samples: int = 1000,
    prior: torch.Tensor | None = None,
    clipped: bool = True,
) -> float:
    """Mean f over ``n_samples`` labelings whose blocks each take a uniformly random input."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
    unary, A_np, grid, coefficients = _problem(cost, A, config, prior)
    n_blocks, m = unary.shape
    rng = numpy_rng(generator)
    labels = rng.integers(0, m, size=(n_samples, n_output, n_blocks))
    onehot = np.eye(m)[labels]  # (S, m', n, m)
    unary_values = np.einsum("km,sjkm->s", unary, onehot)
    height, width = grid
    blocks = onehot.reshape(n_samples, n_output, height, width, m)
    # Two different hard labels differ by ||e_a - e_b||^2 = 2.
    changes = (blocks[:, :, 1:] != blocks[:, :, :-1]).any(-1).sum((1, 2, 3)) + (
        blocks[:, :, :, 1:] != blocks[:, :, :, :-1]
    ).any(-1).sum((1, 2, 3))
    smooth_values = coefficients.beta / 2 * 2 * changes
    tau = coefficients.tau if clipped else None
    compat_values = compatibility_term(onehot.sum(2), A_np, coefficients.gamma, tau)
    return float(np.mean(unary_values + smooth_values + compat_values))
