"""The Co-Mixup objective f(z) against an independent, term-by-term loop computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from comixup import CoMixupConfig, objective, objective_terms
from comixup.objective import objective_np, scaled_coefficients

# --------------------------------------------------------------------------------------------
# Independent reference: plain Python loops over outputs, blocks and inputs.
# --------------------------------------------------------------------------------------------


def reference_terms(cost, z, A, config, *, prior=None, clipped=True) -> dict[str, float]:
    """f(z) term by term, straight from the definitions (DESIGN.md section 2).

    cost (m, h, w), z (m', h, w, m), A (m, m), prior (m,) or None; all float64 tensors.
    """
    m, height, width = cost.shape
    n_output = z.shape[0]
    n = height * width
    beta, gamma, eta, tau = config.beta / n, config.gamma / n, config.eta / n, config.tau * n

    def c(i: int, r: int, col: int) -> float:
        value = float(cost[i, r, col])
        if prior is not None:
            value -= eta * math.log(float(prior[i]) + 1e-8)
        return value

    unary = 0.0
    for j in range(n_output):
        for r in range(height):
            for col in range(width):
                for i in range(m):
                    unary += c(i, r, col) * float(z[j, r, col, i])

    smoothness = 0.0
    for j in range(n_output):
        for r in range(height):
            for col in range(width):
                # Each unordered 4-neighbour pair once: right and down neighbours.
                for r2, c2 in ((r, col + 1), (r + 1, col)):
                    if r2 < height and c2 < width:
                        diff = z[j, r, col] - z[j, r2, c2]
                        smoothness += beta / 2 * float((diff * diff).sum())

    o = [[sum(float(z[j, r, col, i]) for r in range(height) for col in range(width))
          for i in range(m)] for j in range(n_output)]  # fmt: skip
    compatibility = 0.0
    if not clipped:
        for j in range(n_output):
            for jp in range(n_output):
                if jp == j:
                    continue
                for i in range(m):
                    for ip in range(m):
                        compatibility += gamma * o[j][i] * float(A[i, ip]) * o[jp][ip]
    else:
        for j in range(n_output):
            v = [sum(o[jp][i] for jp in range(n_output) if jp != j) for i in range(m)]
            for i in range(m):
                av = sum(float(A[i, ip]) * v[ip] for ip in range(m))
                if av > tau:
                    compatibility += gamma * o[j][i] * av
    return {
        "unary": unary,
        "smoothness": smoothness,
        "compatibility": compatibility,
        "total": unary + smoothness + compatibility,
    }


def random_problem(seed: int, m: int, n_output: int, height: int, width: int, *, soft: bool):
    """Random cost, labeling z (hard one-hot or soft, each block summing to 1), symmetric A."""
    rng = np.random.default_rng(seed)
    cost = torch.from_numpy(rng.normal(size=(m, height, width)))
    if soft:
        z = rng.uniform(size=(n_output, height, width, m))
        z[rng.uniform(size=z.shape) < 0.3] = 0.0  # some exact zeros, as in real labelings
        z[..., 0] += 1e-3  # keep every block's sum positive
        z = z / z.sum(-1, keepdims=True)
    else:
        z = np.eye(m)[rng.integers(0, m, size=(n_output, height, width))]
    B = rng.uniform(0.0, 1.0, size=(m, m))
    A = torch.from_numpy((B + B.T) / 2 + np.eye(m))
    prior = torch.from_numpy(rng.dirichlet(np.full(m, 2.0)))
    return cost, torch.from_numpy(z), A, prior


@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 4),
    n_output=st.integers(1, 4),
    height=st.integers(1, 3),
    width=st.integers(1, 3),
    soft=st.booleans(),
    with_prior=st.booleans(),
    clipped=st.booleans(),
    beta=st.floats(0.0, 2.0),
    gamma=st.floats(0.0, 2.0),
    eta=st.floats(0.0, 1.0),
    tau=st.floats(0.0, 1.5),
)
def test_terms_match_loop_reference(
    seed, m, n_output, height, width, soft, with_prior, clipped, beta, gamma, eta, tau
):
    cost, z, A, prior = random_problem(seed, m, n_output, height, width, soft=soft)
    config = CoMixupConfig(beta=beta, gamma=gamma, eta=eta, tau=tau)
    prior = prior if with_prior else None

    terms = objective_terms(cost, z, A, config, prior=prior, clipped=clipped)
    expected = reference_terms(cost, z, A, config, prior=prior, clipped=clipped)

    assert terms.keys() == expected.keys()
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert objective(cost, z, A, config, prior=prior, clipped=clipped) == terms["total"]


def test_hand_computed_example():
    """m = m' = 2, 1x2 grid, A = I: every term worked out on paper."""
    cost = torch.tensor([[[0.1, 0.2]], [[0.3, 0.4]]], dtype=torch.float64)
    e0, e1 = [1.0, 0.0], [0.0, 1.0]
    z = torch.tensor([[[e0, e1]], [[e0, e0]]], dtype=torch.float64)  # (2, 1, 2, 2)
    A = torch.eye(2, dtype=torch.float64)
    config = CoMixupConfig(beta=1.0, gamma=1.0, tau=0.5, eta=0.4)

    clipped = objective_terms(cost, z, A, config)
    # unary: output 0 takes 0.1 + 0.4, output 1 takes 0.1 + 0.2.
    assert clipped["unary"] == pytest.approx(0.8)
    # smoothness: beta' / 2 = 1/2/2; output 0 has one edge with ||e0 - e1||^2 = 2.
    assert clipped["smoothness"] == pytest.approx(0.5)
    # o_0 = (1, 1), o_1 = (2, 0); tau' = 1: only [A o_1]_0 = 2 > 1 counts, o_0[0] * 2 = 2;
    # gamma' = 1/2.
    assert clipped["compatibility"] == pytest.approx(1.0)
    assert clipped["total"] == pytest.approx(2.3)

    unclipped = objective_terms(cost, z, A, config, clipped=False)
    # gamma' (o_0 . o_1 + o_1 . o_0) = 1/2 * (2 + 2).
    assert unclipped["compatibility"] == pytest.approx(2.0)
    assert unclipped["total"] == pytest.approx(3.3)

    # The prior adds -eta' log(p_i + 1e-8) per unit of weight; 4 blocks in all, p = (1/2, 1/2).
    with_prior = objective_terms(cost, z, A, config, prior=torch.tensor([0.5, 0.5]))
    assert with_prior["unary"] == pytest.approx(0.8 - 4 * 0.2 * math.log(0.5 + 1e-8))
    assert with_prior["smoothness"] == clipped["smoothness"]
    assert with_prior["compatibility"] == clipped["compatibility"]


@given(seed=st.integers(0, 2**32 - 1), soft=st.booleans())
def test_clipping_only_removes_compatibility(seed, soft):
    """With non-negative A and z the clipped term lies in [0, unclipped]; tau = 0 clips nothing
    (a penalty at or under 0 is 0 anyway)."""
    cost, z, A, prior = random_problem(seed, 3, 3, 2, 3, soft=soft)
    config = CoMixupConfig(tau=0.5)
    clipped = objective_terms(cost, z, A, config, prior=prior)
    unclipped = objective_terms(cost, z, A, config, prior=prior, clipped=False)
    assert 0.0 <= clipped["compatibility"] <= unclipped["compatibility"] + 1e-12
    assert clipped["unary"] == unclipped["unary"]
    assert clipped["smoothness"] == unclipped["smoothness"]

    no_threshold = CoMixupConfig(tau=0.0)
    assert objective(cost, z, A, no_threshold, prior=prior) == pytest.approx(
        objective(cost, z, A, no_threshold, prior=prior, clipped=False), rel=1e-12
    )


def test_numpy_and_torch_inputs_agree_with_objective_np():
    cost, z, A, prior = random_problem(7, 3, 2, 2, 3, soft=True)
    config = CoMixupConfig(beta=0.5, gamma=1.5, eta=0.3, tau=0.4)
    from_torch = objective(cost, z, A, config, prior=prior)
    from_numpy = objective(cost.numpy(), z.numpy(), A.numpy(), config, prior=prior.numpy())
    from_float32 = objective(cost.float(), z.float(), A.float(), config, prior=prior.float())
    assert from_numpy == from_torch
    assert from_float32 == pytest.approx(from_torch, rel=1e-5)

    m, height, width = cost.shape
    n = height * width
    coefficients = scaled_coefficients(config, n)
    assert coefficients == (0.5 / n, 1.5 / n, 0.3 / n, 0.4 * n)
    unary = cost.numpy().reshape(m, n).T - coefficients.eta * np.log(prior.numpy() + 1e-8)
    z_flat = z.numpy().reshape(z.shape[0], n, m)
    value = objective_np(unary, z_flat, A.numpy(), (height, width), coefficients, clipped=True)
    assert value == pytest.approx(from_torch, rel=1e-12)


def test_non_square_grid_edges():
    """On a 2x3 grid, the first column on input 1 and the rest on input 0 has two differing
    edges (one per row), each ||e0 - e1||^2 = 2; reading the blocks as 3x2 would give five."""
    m, height, width = 2, 2, 3
    z = torch.zeros(1, height, width, m, dtype=torch.float64)
    z[0, :, 0, 1] = 1.0
    z[0, :, 1:, 0] = 1.0
    cost = torch.zeros(m, height, width, dtype=torch.float64)
    config = CoMixupConfig(beta=1.0)
    terms = objective_terms(cost, z, torch.eye(m, dtype=torch.float64), config)
    beta_scaled = 1.0 / (height * width)
    assert terms["smoothness"] == pytest.approx(beta_scaled / 2 * 2 * 2)


@pytest.mark.parametrize(
    ("cost_shape", "z_shape", "A_shape", "message"),
    [
        ((2, 4), (1, 2, 2, 2), (2, 2), r"cost must have shape \(m, h, w\)"),
        ((2, 2, 2, 1), (1, 2, 2, 2), (2, 2), r"cost must have shape \(m, h, w\)"),
        ((2, 2, 2), (1, 2, 2, 2), (3, 3), r"A must be the \(m, m\) compatibility matrix"),
        ((2, 2, 2), (1, 2, 2, 2), (2, 3), r"A must be the \(m, m\) compatibility matrix"),
        ((2, 2, 2), (1, 2, 2, 3), (2, 2), r"z must have shape \(n_output, 2, 2, 2\)"),
        ((2, 2, 2), (1, 2, 3, 2), (2, 2), r"z must have shape \(n_output, 2, 2, 2\)"),
        ((2, 2, 2), (2, 2, 2), (2, 2), r"z must have shape \(n_output, 2, 2, 2\)"),
    ],
)
def test_wrong_shapes_raise(cost_shape, z_shape, A_shape, message):
    with pytest.raises(ValueError, match=message):
        objective(
            torch.zeros(cost_shape), torch.zeros(z_shape), torch.zeros(A_shape), CoMixupConfig()
        )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_cost_raises(bad):
    cost, z, A, _ = random_problem(0, 2, 1, 2, 2, soft=False)
    cost[0, 0, 0] = bad
    with pytest.raises(ValueError, match="cost contains NaN or inf"):
        objective(cost, z, A, CoMixupConfig())


def test_prior_of_the_wrong_length_raises():
    cost = torch.rand(3, 2, 2)
    z = torch.zeros(2, 2, 2, 3)
    z[..., 0] = 1
    with pytest.raises(
        ValueError, match=r"prior must hold one probability per input, shape \(3,\)"
    ):
        objective(cost, z, torch.eye(3), CoMixupConfig(), prior=torch.tensor([0.5]))
