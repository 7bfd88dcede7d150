"""Issue 11, items 1, 8 and 9: no input kills the process, legal-looking input gives right
results, and bad hyperparameters are refused where they are set.

Cases that reach GCO with energies it could not take used to abort the interpreter (a C++
exception through ctypes); they run in a subprocess here, so that an abort shows as a
negative return code instead of killing pytest.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from baselines.cutmix import CutMix, cutmix
from baselines.input_mixup import InputMixup, input_mixup
from baselines.puzzle_mix import PuzzleMix, PuzzleMixConfig, puzzle_mix
from baselines.vat import VATConfig
from benchmarks.methods import METHOD_NAMES, get_method
from comixup import CoMixup, CoMixupConfig, co_mixup, solve_labeling
from comixup.graphcut import (
    ENERGY_RANGE,
    GCO_MAX_ENERGYTERM,
    check_energies,
    energy_scale,
    to_int32,
)
from comixup.objective import scaled_coefficients
from comixup.solver import _Grid, _PartitionSolver

NUM_CLASSES = 10


def run_isolated(body: str) -> dict:
    """Run ``body`` (which sets ``result``, a JSON-able dict) in a fresh interpreter; fail on an
    abort or any exception, naming the return code and stderr."""
    script = "import json, torch\n" + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"return code {done.returncode}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def batch(seed: int = 0, size: int = 8, side: int = 32):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(size, 3, side, side, generator=g)
    y = torch.randint(0, NUM_CLASSES, (size,), generator=g)
    saliency = torch.rand(size, side, side, generator=g)
    return x, y, saliency


def assert_valid(x: torch.Tensor, x_mixed: torch.Tensor, y_soft: torch.Tensor) -> None:
    assert x_mixed.shape == x.shape and torch.isfinite(x_mixed).all()
    assert y_soft.dtype == torch.float32 and torch.isfinite(y_soft).all()
    assert (y_soft >= 0).all()
    torch.testing.assert_close(y_soft.sum(1), torch.ones(x.shape[0]), rtol=0, atol=1e-6)


# --- item 1: energies GCO cannot take -------------------------------------------------------

MIXES_WITH_LARGE_WEIGHTS = """
from comixup import CoMixupConfig as C, co_mixup
from baselines.puzzle_mix import PuzzleMixConfig as P, puzzle_mix
g = torch.Generator().manual_seed(0)
x, y = torch.rand(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)
s = torch.rand(8, 32, 32, generator=g)
seeded = lambda: torch.Generator().manual_seed(1)
k = 10
mixes = {
    "comixup beta 2000": lambda: co_mixup(x, y, s, C(beta=2000), num_classes=k),
    "comixup beta 1e12": lambda: co_mixup(x, y, s, C(beta=1e12), num_classes=k),
    "comixup gamma 1e9 eta 1e12": lambda: co_mixup(x, y, s, C(gamma=1e9, eta=1e12), num_classes=k),
    "puzzle beta 1e4": lambda: puzzle_mix(x, y, s, P(beta=1e4), num_classes=k, generator=seeded()),
    "puzzle beta 1e9 gamma 1e8": lambda: puzzle_mix(
        x, y, s, P(beta=1e9, gamma=1e8, block_nums=(16,)), num_classes=k, generator=seeded()
    ),
}
result = {}
for name, mix in mixes.items():
    x_mixed, y_soft = mix()
    error = float((y_soft.sum(1) - 1).abs().max())
    result[name] = [bool(torch.isfinite(x_mixed).all()), error, str(y_soft.dtype)]
"""


def test_large_smoothness_weights_mix_instead_of_aborting():
    """Co-Mixup at beta 2000 and Puzzle Mix at beta 1e4 aborted the interpreter (GCO:
    "Smoothness weight was larger than GCO_MAX_ENERGYTERM"); energies are now scaled into
    GCO's range, so they mix."""
    result = run_isolated(MIXES_WITH_LARGE_WEIGHTS)
    for name, (finite, sum_error, dtype) in result.items():
        assert finite and sum_error < 1e-6 and dtype == "torch.float32", name


def test_very_large_beta_gives_one_smooth_labeling():
    """At a huge smoothness weight each output is one input everywhere (the cut pays no edge)."""
    result = run_isolated(
        """
        from comixup import CoMixupConfig, solve_labeling
        g = torch.Generator().manual_seed(3)
        z = solve_labeling(-torch.rand(4, 4, 4, generator=g), torch.zeros(4, 4), 4,
                           CoMixupConfig(beta=1e9, eta=0.0, n_levels=2), g)
        result = {"constant": bool((z == z[:, :1, :1]).all())}
        """
    )
    assert result["constant"]


def test_gridswap_refuses_energies_over_gco_limits_in_a_subprocess():
    """Integer energies past GCO_MAX_ENERGYTERM used to reach GCO (abort); GridSwap now raises
    a ValueError naming the limit before the call."""
    result = run_isolated(
        """
        import numpy as np
        from comixup.graphcut import GridSwap
        swap = GridSwap(2, 2)
        unary = np.zeros((4, 2), dtype=np.intc)
        pairwise = np.array([[0, 1], [1, 0]], dtype=np.intc)
        result = {}
        for name, weights in {"weight": swap.uniform_weights(20_000_000),
                              "negative": swap.uniform_weights(-1)}.items():
            try:
                swap(unary, pairwise, weights)
                result[name] = "no error"
            except ValueError as error:
                result[name] = str(error)
        """
    )
    assert "GCO_MAX_ENERGYTERM = 10000000" in result["weight"]
    assert "non-negative" in result["negative"]


def test_energy_scale_keeps_edges_within_gco_limit():
    scale = energy_scale(1.0, 125.0)  # Co-Mixup beta 2000 on a 4x4 grid: beta' = 125
    assert scale * 125.0 <= GCO_MAX_ENERGYTERM
    assert energy_scale(1e9, 0.0) * 1e9 <= ENERGY_RANGE
    assert energy_scale(0.5, 0.1) == 1e6  # the usual regime keeps 6 decimal places
    scales = energy_scale(np.array([1.0, 1e9]), np.array([1e12, 0.0]))
    assert scales[0] * 1e12 <= GCO_MAX_ENERGYTERM and scales[1] * 1e9 <= ENERGY_RANGE


@pytest.mark.parametrize("beta", [2000.0, 1e6, 1e15])
def test_solver_edge_weights_within_gco_limit(beta):
    """The solver's edge weight times its largest pairwise term stays within GCO's limit."""
    config = CoMixupConfig(beta=beta)
    grid = _Grid(4, 4)
    coefficients = scaled_coefficients(config, grid.n_blocks)
    unary = -np.random.default_rng(0).random((16, 5))
    solver = _PartitionSolver(unary, np.eye(5), grid, coefficients, config, 5)
    largest_pairwise = 2 * solver.units**2
    assert 0 < solver.edge_weights.max() * largest_pairwise <= GCO_MAX_ENERGYTERM * 1.001


@pytest.mark.parametrize(
    ("largest", "edge"), [(math.inf, 0.0), (math.nan, 0.0), (1.0, math.inf), (1.0, math.nan)]
)
def test_energy_scale_refuses_non_finite(largest, edge):
    with pytest.raises(ValueError, match="graph-cut energies must be finite"):
        energy_scale(largest, edge)


@pytest.mark.parametrize("bad", [math.nan, math.inf, 3e9])
def test_to_int32_refuses_what_a_cast_would_wrap(bad):
    with pytest.raises(ValueError, match="outside int32"):
        to_int32(np.array([[0.0, bad]]))


def test_check_energies_accepts_what_the_callers_build():
    unary = np.array([[-(10**8), 0]], dtype=np.intc)
    pairwise = np.array([[0, 4], [4, 0]], dtype=np.intc)
    check_energies(unary, pairwise, np.full(3, GCO_MAX_ENERGYTERM // 4, dtype=np.intc))
    with pytest.raises(ValueError, match="zero on the diagonal"):
        check_energies(unary, pairwise + 1, np.ones(3, dtype=np.intc))
    with pytest.raises(ValueError, match="unary costs reach"):
        check_energies(unary * 5, pairwise, np.ones(3, dtype=np.intc))


@pytest.mark.parametrize(
    "config", [lambda: CoMixupConfig(beta=math.inf), lambda: PuzzleMixConfig(beta=math.inf)]
)
def test_infinite_beta_refused_at_construction(config):
    """beta = inf gave "cannot convert float NaN to integer" (Co-Mixup) or silently wrapped
    int32 energies (Puzzle Mix)."""
    with pytest.raises(ValueError, match=r"beta=inf; beta must be non-negative and finite"):
        config()


# --- item 8: legal-looking input, right results ---------------------------------------------


def _mixers():
    """(name, call(x, y, saliency) -> (x_mixed, y_soft)) for every public mixer."""
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    k = NUM_CLASSES
    return {
        "InputMixup": lambda x, y, s: InputMixup(num_classes=k)(x, y, generator=g()),
        "input_mixup": lambda x, y, s: input_mixup(x, y, num_classes=k, generator=g()),
        "CutMix": lambda x, y, s: CutMix(num_classes=k)(x, y, generator=g()),
        "cutmix": lambda x, y, s: cutmix(x, y, num_classes=k, generator=g()),
        "PuzzleMix": lambda x, y, s: PuzzleMix(num_classes=k)(x, y, saliency=s, generator=g()),
        "puzzle_mix": lambda x, y, s: puzzle_mix(
            x, y, s, PuzzleMixConfig(), num_classes=k, generator=g()
        ),
        "CoMixup": lambda x, y, s: CoMixup(num_classes=k)(x, y, saliency=s, generator=g()),
        "co_mixup": lambda x, y, s: co_mixup(
            x, y, s, CoMixupConfig(), generator=g(), num_classes=k
        ),
    }


MIXERS = _mixers()


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.int64, torch.bool])
def test_integer_images_refused_with_the_fix(name, dtype):
    x, y, s = batch()
    with pytest.raises(ValueError, match=r"x\.float\(\) / 255"):
        MIXERS[name]((x * 255).to(dtype), y, s)


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_integer_labels_of_any_dtype_are_class_indices(name, dtype):
    """int32 / int16 / uint8 labels gave "one_hot is only applicable to index tensor of type
    LongTensor"; they now mix exactly as int64 labels."""
    x, y, s = batch()
    expected = MIXERS[name](x, y, s)
    got = MIXERS[name](x, y.to(dtype), s)
    torch.testing.assert_close(got[0], expected[0], rtol=0, atol=0)
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0)


@pytest.mark.parametrize("name", MIXERS)
def test_bool_labels_are_class_indices(name):
    x, y, s = batch()
    got = MIXERS[name](x, y % 2 == 1, s)
    expected = MIXERS[name](x, y % 2, s)
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0)


@pytest.mark.parametrize("name", METHOD_NAMES)
@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8])
def test_every_method_takes_integer_labels_of_any_dtype(name, dtype, tiny_net):
    """Every method's loss gave a cryptic one_hot error on int32 / uint8 labels."""
    x, y, _ = batch(side=16)
    method = get_method(name, num_classes=NUM_CLASSES)
    state = copy.deepcopy(tiny_net.state_dict())
    expected, _ = method.loss(tiny_net, x, y, generator=torch.Generator().manual_seed(4))
    tiny_net.load_state_dict(state)  # batch-norm statistics moved
    got, _ = method.loss(tiny_net, x, y.to(dtype), generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.full((8, NUM_CLASSES), 0.3), "soft labels must sum to 1"),
        (torch.eye(NUM_CLASSES)[:8] * 2 - torch.eye(NUM_CLASSES)[1:9], "non-negative"),
        (torch.full((8, NUM_CLASSES), math.nan), "NaN or inf"),
    ],
)
def test_soft_labels_that_are_not_distributions_are_refused(name, labels, message):
    x, _, s = batch()
    with pytest.raises(ValueError, match=message):
        MIXERS[name](x, labels, s)


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_soft_labels_float32_summing_to_one_for_any_input_dtype(name, dtype):
    x, y, s = batch()
    x_mixed, y_soft = MIXERS[name](x.to(dtype), y, s.to(dtype))
    assert x_mixed.dtype == dtype
    assert_valid(x, x_mixed.float(), y_soft)


@pytest.mark.parametrize("name", MIXERS)
def test_16_bit_soft_labels_come_back_float32_summing_to_one(name):
    x, _, s = batch()
    y_soft = torch.softmax(torch.randn(8, NUM_CLASSES), 1).bfloat16()
    _, mixed = MIXERS[name](x, y_soft, s)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed.sum(1), torch.ones(8), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_co_mixup_takes_16_bit_saliency(dtype):
    """Half / bf16 saliency gave "cdist not implemented for 'Half'"; it is computed in float32,
    so the mix equals that of the float32 copy of the same (rounded) saliency."""
    x, y, s = batch()
    s16 = s.to(dtype)
    config = CoMixupConfig()
    got = co_mixup(x, y, s16, config, generator=torch.Generator().manual_seed(2), num_classes=10)
    expected = co_mixup(
        x, y, s16.float(), config, generator=torch.Generator().manual_seed(2), num_classes=10
    )
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_inputs_refused(name, value):
    x, y, s = batch()
    x[3, 1, 2, 2] = value
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        MIXERS[name](x, y, s)


# --- item 9: hyperparameters checked at construction ----------------------------------------


@pytest.mark.parametrize(
    ("make", "field", "shown"),
    [
        (lambda: CoMixupConfig(tau=-0.1), "tau", "-0.1"),
        (lambda: CoMixupConfig(tau=math.nan), "tau", "nan"),
        (lambda: CoMixupConfig(gamma=math.inf), "gamma", "inf"),
        (lambda: CoMixupConfig(alpha=math.nan), "alpha", "nan"),
        (lambda: CoMixupConfig(alpha="x"), "alpha", "'x'"),
        (lambda: CoMixupConfig(n_iter=2.5), "n_iter", "2.5"),
        (lambda: CoMixupConfig(resolve="no"), "resolve", "'no'"),
        (lambda: CoMixupConfig(clean_lam=-1.0), "clean_lam", "-1.0"),
        (lambda: PuzzleMixConfig(gamma=math.inf), "gamma", "inf"),
        (lambda: PuzzleMixConfig(eta=math.nan), "eta", "nan"),
        (lambda: PuzzleMixConfig(t_eps=-math.inf), "t_eps", "-inf"),
        (lambda: PuzzleMixConfig(transport="yes"), "transport", "'yes'"),
        (lambda: VATConfig(xi="x"), "xi", "'x'"),
        (lambda: VATConfig(alpha=math.nan), "alpha", "nan"),
    ],
)
def test_config_refuses_bad_values_naming_field_value_and_range(make, field, shown):
    with pytest.raises(ValueError, match=rf"invalid value\(s\) {field}={shown}; {field} must be"):
        make()


@pytest.mark.parametrize("epsilon", [math.inf, "x"])
def test_vat_radius_refused_at_construction(epsilon):
    with pytest.raises(ValueError, match="epsilon must be a positive, finite radius"):
        VATConfig(epsilon=epsilon)


@pytest.mark.parametrize("name", [n for n in METHOD_NAMES if n not in ("vanilla", "vat")])
@pytest.mark.parametrize("alpha", ["x", math.nan, math.inf, -1.0])
def test_get_method_refuses_bad_alpha_at_construction(name, alpha):
    """``get_method('comixup', ..., alpha='x')`` failed only at the first batch (TypeError)."""
    with pytest.raises(ValueError, match="alpha"):
        get_method(name, num_classes=NUM_CLASSES, alpha=alpha)


def test_negative_compatibility_refused():
    x, y, s = batch()
    with pytest.raises(ValueError, match="A has negative entries"):
        co_mixup(x, y, s, CoMixupConfig(), A=-torch.ones(8, 8), num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match="A has negative entries"):
        solve_labeling(-torch.rand(3, 2, 2), -torch.eye(3), 3, CoMixupConfig())


def test_solve_labeling_without_inputs_refused():
    """m = 0 gave NumPy's "high <= 0"."""
    with pytest.raises(ValueError, match=r"cost has shape \(0, 4, 4\); it needs at least one"):
        solve_labeling(torch.zeros(0, 4, 4), torch.zeros(0, 0), 3, CoMixupConfig())
    with pytest.raises(ValueError, match="n_output must be at least 1"):
        solve_labeling(-torch.rand(3, 2, 2), torch.eye(3), 2.5, CoMixupConfig())
