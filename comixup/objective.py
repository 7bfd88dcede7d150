"""The Co-Mixup objective f(z) (paper Eq. 1, with the scalings of the official code).

Notation (DESIGN.md section 2): a partition of ``m`` inputs and ``m'`` outputs on a grid of
``n = h * w`` blocks. ``z[j, k]`` is the weight vector over inputs at block ``k`` of output ``j``;
``o_j = sum_k z[j, k]``. With per-block coefficients rescaled by ``n`` (``beta' = beta / n``,
``gamma' = gamma / n``, ``eta' = eta / n``, ``tau' = tau * n``), f is the sum of

- unary (saliency + eta prior): ``sum_j sum_k c_k . z[j, k]`` with
  ``c_k[i] = cost[i, k] - eta' log p_i``, ``p`` one Dirichlet draw (the label prior);
- beta smoothness: ``beta'/2 sum_j sum_{k ~ k'} ||z[j, k] - z[j, k']||^2`` over 4-neighbours;
- gamma compatibility: ``gamma' sum_j o_j^T A v_j`` with ``v_j = sum_{j' != j} o_j'``, which is
  ``gamma' sum_{j != j'} o_j^T A o_j'``. The clipped form that Algorithm 1 minimises keeps only
  the entries with ``[A v_j]_i > tau'`` (the official "hard" threshold).

Everything here is a small NumPy function on float64 arrays so that the solver's hot path can
call it without tensor overheads; :func:`objective` is the public, tensor-facing entry point.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from comixup.config import CoMixupConfig

Array = torch.Tensor | np.ndarray
"""Costs, labelings and matrices may be given as tensors or NumPy arrays."""

PRIOR_EPS = 1e-8
"""Added to the Dirichlet draw before the log (official ``get_onehot_matrix``)."""


class ScaledCoefficients(NamedTuple):
    """The objective's coefficients rescaled by the number of blocks ``n``."""

    beta: float
    gamma: float
    eta: float
    tau: float


def scaled_coefficients(config: CoMixupConfig, n_blocks: int) -> ScaledCoefficients:
    """``beta / n``, ``gamma / n``, ``eta / n`` and ``tau * n`` as in the official solver."""
    return ScaledCoefficients(
        beta=config.beta / n_blocks,
        gamma=config.gamma / n_blocks,
        eta=config.eta / n_blocks,
        tau=config.tau * n_blocks,
    )


def prior_cost(prior: np.ndarray, eta_scaled: float) -> np.ndarray:
    """The eta prior's contribution ``-eta' log p_i`` to every block's unary cost, shape (m,)."""
    return -eta_scaled * np.log(prior + PRIOR_EPS)


def unary_term(unary: np.ndarray, z: np.ndarray) -> float:
    """``sum_j sum_k c_k . z[j, k]``; unary (n, m), z (m', n, m)."""
    return float(np.einsum("km,jkm->", unary, z))


def smoothness_term(z: np.ndarray, grid: tuple[int, int], beta_scaled: float) -> float:
    """``beta'/2 sum_j sum_{k ~ k'} ||z[j,k] - z[j,k']||^2``, 4-neighbour grid; z (m', n, m)."""
    height, width = grid
    blocks = z.reshape(z.shape[0], height, width, z.shape[-1])
    vertical = np.square(blocks[:, 1:] - blocks[:, :-1]).sum()
    horizontal = np.square(blocks[:, :, 1:] - blocks[:, :, :-1]).sum()
    return float(beta_scaled / 2 * (vertical + horizontal))


def compatibility_term(
    counts: np.ndarray, A: np.ndarray, gamma_scaled: float, tau_scaled: float | None
) -> np.ndarray:
    """``gamma' sum_j o_j^T [A v_j]`` (clipped at ``tau'`` when given).

    counts o has shape (..., m', m); leading axes are a batch of labelings, so the result is a
    scalar for one labeling and an array of shape (...) for many.
    """
    others = counts.sum(-2, keepdims=True) - counts
    penalty = others @ A.T
    if tau_scaled is not None:
        penalty = np.where(penalty > tau_scaled, penalty, 0.0)
    return gamma_scaled * np.sum(counts * penalty, axis=(-2, -1))


def objective_np(
    unary: np.ndarray,
    z: np.ndarray,
    A: np.ndarray,
    grid: tuple[int, int],
    coefficients: ScaledCoefficients,
    *,
    clipped: bool,
) -> float:
    """f(z) on NumPy arrays: unary (n, m) already holding the prior, z (m', n, m), A (m, m)."""
    counts = z.sum(1)
    tau = coefficients.tau if clipped else None
    return (
        unary_term(unary, z)
        + smoothness_term(z, grid, coefficients.beta)
        + float(compatibility_term(counts, A, coefficients.gamma, tau))
    )


def _as_numpy(name: str, value: torch.Tensor | np.ndarray) -> np.ndarray:
    array = (
        value.detach().to("cpu", torch.float64).numpy()
        if isinstance(value, torch.Tensor)
        else value
    )
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf values; pass finite numbers.")
    return array


def check_problem(cost: np.ndarray, A: np.ndarray) -> None:
    """Raise a ValueError naming the problem when cost (m, h, w) and A (m, m) do not fit."""
    if cost.ndim != 3:
        raise ValueError(
            f"cost must have shape (m, h, w) (inputs x grid rows x grid columns), got "
            f"{tuple(cost.shape)}."
        )
    if 0 in cost.shape:
        raise ValueError(
            f"cost has shape {tuple(cost.shape)}; it needs at least one input and one grid block."
        )
    m = cost.shape[0]
    if A.shape != (m, m):
        raise ValueError(
            f"A must be the (m, m) compatibility matrix of the cost's m = {m} inputs, "
            f"got shape {tuple(A.shape)}."
        )


def objective_terms(
    cost: torch.Tensor | np.ndarray,
    z: torch.Tensor | np.ndarray,
    A: torch.Tensor | np.ndarray,
    config: CoMixupConfig,
    *,
    prior: torch.Tensor | np.ndarray | None = None,
    clipped: bool = True,
) -> dict[str, float]:
    """Each term of f separately: ``unary``, ``smoothness``, ``compatibility`` and ``total``.

    Args:
        cost: unary cost per input and block, shape (m, h, w) (``-`` normalised saliency).
        z: block weights, shape (m', h, w, m), as returned by ``solve_labeling``.
        A: compatibility matrix, shape (m, m).
        config: the coefficients (beta, gamma, eta, tau).
        prior: the Dirichlet draw p, shape (m,); adds ``-eta' log p`` to every block.
        clipped: the hard-thresholded compatibility term that Algorithm 1 minimises (default,
            and the f of the supplement's Table 2); False gives the plain supermodular term.
    """
    cost_np, A_np, z_np = _as_numpy("cost", cost), _as_numpy("A", A), _as_numpy("z", z)
    check_problem(cost_np, A_np)
    m, height, width = cost_np.shape
    if z_np.ndim != 4 or z_np.shape[1:] != (height, width, m):
        raise ValueError(
            f"z must have shape (n_output, {height}, {width}, {m}) to match cost {cost_np.shape}, "
            f"got {tuple(z_np.shape)}."
        )
    coefficients = scaled_coefficients(config, height * width)
    unary = cost_np.reshape(m, -1).T
    if prior is not None:
        prior_np = _as_numpy("prior", prior)
        if prior_np.shape != (m,):
            raise ValueError(
                f"prior must hold one probability per input, shape ({m},), "
                f"got {tuple(prior_np.shape)}."
            )
        unary = unary + prior_cost(prior_np, coefficients.eta)
    z_flat = z_np.reshape(z_np.shape[0], height * width, m)
    terms = {
        "unary": unary_term(unary, z_flat),
        "smoothness": smoothness_term(z_flat, (height, width), coefficients.beta),
        "compatibility": float(
            compatibility_term(
                z_flat.sum(1), A_np, coefficients.gamma, coefficients.tau if clipped else None
            )
        ),
    }
    terms["total"] = terms["unary"] + terms["smoothness"] + terms["compatibility"]
    return terms


def objective(cost: Array, z: Array, A: Array, config: CoMixupConfig, **options: Any) -> float:
    """The Co-Mixup objective f(z); the arguments and the keyword ``options`` (``prior``,
    ``clipped``) are those of :func:`objective_terms`."""
    return objective_terms(cost, z, A, config, **options)["total"]
