"""Fuzz every public mixer and ``solve_labeling`` (issue 11): random shapes, dtypes, devices,
hyperparameters at and beyond their limits, NaN / inf entries. Every call returns a valid
result (finite, float32 soft labels summing to 1; labelings summing to 1 per block) or raises
a ValueError / TypeError with a message; none aborts, none returns NaN.

The cases run in a spawned worker (``fuzz_cases.IsolatedRunner``), so an abort inside GCO
fails a case instead of killing pytest. ``COMIXUP_FUZZ_EXAMPLES`` raises the number of cases
(default 500 per test, 1,500 in all: about 15-25 s).
"""

from __future__ import annotations

import math
import os
from collections import Counter

import pytest
import torch
from fuzz_cases import DTYPES, LABEL_DTYPES, IsolatedRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("COMIXUP_FUZZ_EXAMPLES", "500"))
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

EXTREMES = [0.0, -1.0, 1e-12, 1e6, 1e300, math.inf, -math.inf, math.nan]
"""Values at and beyond every real hyperparameter's limits."""
BAD_COUNTS = [0, -1, 1, 2.5, True]
"""Values at and beyond every count's limits (1 and True are bad where 2 is the least)."""

# Per field: legal values (some large, as 2000 for Co-Mixup's beta, which aborted GCO), then
# what a hostile case may put there instead.
PAIRWISE_FIELDS = {
    "alpha": ([0.2, 1.0, 2.0, 1e-3, 1e3], EXTREMES),
    "per_sample": ([False, True], [1, None]),
}
COMIXUP_FIELDS = {
    "beta": ([0.32, 2000.0, 0.0, 1e6], EXTREMES),
    "gamma": ([1.0, 0.0, 1e9], EXTREMES),
    "eta": ([0.05, 0.0, 1e12], EXTREMES),
    "tau": ([0.83, 0.0, 10.0], EXTREMES),
    "omega": ([0.001, 0.0, 1.0], [*EXTREMES, 1.5]),
    "alpha": ([2.0, 1e-3], EXTREMES),
    "partition_size": ([20, 1, 2, 3], BAD_COUNTS),
    "grid_size": ([4, 1, 2], BAD_COUNTS),
    "n_levels": ([3, 2, 4], BAD_COUNTS),
    "n_iter": ([4, 1, 2], BAD_COUNTS),
    "resolve": ([True, False], [1, None]),
    "mix_candidates": ([3, 2, 4], BAD_COUNTS),
    "capped_start": ([False, True], [0, "yes"]),
    "labeling_backend": (["gco", "compiled"], ["numba"]),
}
PUZZLE_FIELDS = {
    "block_nums": ([(2, 4, 8, 16), (2,), (2, 4), (1,), (3,)], [(), (0,), (2.5,), (math.inf,)]),
    "alpha": ([1.0, 0.2, 1e-3], EXTREMES),
    "beta": ([1.2, 0.0, 1e4, 1e7], EXTREMES),
    "gamma": ([0.5, 0.0, 1e8], EXTREMES),
    "eta": ([0.2, 0.0, 1e9], EXTREMES),
    "t_eps": ([0.8, 0.0, 1e6], EXTREMES),
    "n_labels": ([3, 2, 4], BAD_COUNTS),
    "neigh_size": ([4, 1, 2], BAD_COUNTS),
    "transport": ([True, False], [1, None]),
    "t_size": ([4, None, 1, -1], BAD_COUNTS),
    "labeling_backend": (["gco", "compiled"], ["numba"]),
}
FIELDS = {
    "InputMixup": PAIRWISE_FIELDS,
    "input_mixup": PAIRWISE_FIELDS,
    "CutMix": PAIRWISE_FIELDS,
    "cutmix": PAIRWISE_FIELDS,
    "PuzzleMix": PUZZLE_FIELDS,
    "puzzle_mix": PUZZLE_FIELDS,
    "CoMixup": COMIXUP_FIELDS,
    "co_mixup": COMIXUP_FIELDS,
    "solve_labeling": COMIXUP_FIELDS,
}
FLOATS = ["float32", "float64", "float16", "bfloat16"]
NOT_FLOATS = sorted(DTYPES.keys() - set(FLOATS))


@st.composite
def cases(draw, mixers: tuple[str, ...]) -> dict:
    """A case; a hostile one (half of them) also draws illegal values, dtypes and entries."""
    mixer = draw(st.sampled_from(mixers))
    hostile = draw(st.booleans())

    def pick(legal: list, illegal: list):
        return draw(st.sampled_from(legal + illegal if hostile else legal))

    fields = FIELDS[mixer]
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True))
    settings_ = {name: pick(*fields[name]) for name in chosen}
    divisible = draw(st.booleans())  # sides the Co-Mixup grid / Puzzle Mix blocks divide
    side = st.sampled_from([4, 8, 16, 32, 40]) if divisible else st.integers(4, 40)
    return {
        "mixer": mixer,
        "seed": draw(st.integers(0, 2**31 - 1)),
        "device": draw(st.sampled_from(DEVICES)),
        "batch": draw(st.integers(1, 8)),
        "channels": draw(st.integers(1, 3)),
        "height": draw(side),
        "width": draw(side),
        "x_dtype": pick(FLOATS, NOT_FLOATS),
        "saliency_dtype": pick(FLOATS, ["int64"]),
        "labels": pick(["soft", *LABEL_DTYPES], ["unnormalised", "negative"]),
        "label_float": draw(st.sampled_from(FLOATS)),
        "num_classes": draw(st.integers(2, 12)),
        "pass_num_classes": pick([True], [False]),
        "n_output": pick([1, 2, 5], [0, -1]),
        "negative_A": pick([False], [True]),
        "poison": pick([None], ["x", "y", "saliency", "A"]),
        "poison_value": draw(st.sampled_from([math.nan, math.inf, -math.inf])),
        "settings": settings_,
    }


@pytest.fixture(scope="module")
def runner():
    isolated = IsolatedRunner()
    yield isolated
    isolated.close()


def _fuzz(runner: IsolatedRunner, case: dict, outcomes: Counter) -> None:
    outcome, detail = runner.run(case)
    outcomes[outcome] += 1
    assert outcome != "bad", f"{detail}\ncase: {case}"


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PAIRWISE = ("InputMixup", "input_mixup", "CutMix", "cutmix")
SALIENCY = ("PuzzleMix", "puzzle_mix", "CoMixup", "co_mixup")


@pytest.mark.parametrize("mixers", [PAIRWISE, SALIENCY, ("solve_labeling",)])
def test_fuzz(runner, mixers):
    outcomes: Counter = Counter()

    @FUZZ
    @given(case=cases(mixers))
    def check(case):
        _fuzz(runner, case, outcomes)

    check()
    # The counts show in the output with -s; both kinds of outcome must occur.
    print(f"fuzz {mixers}: {sum(outcomes.values())} cases, {dict(outcomes)}")
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0, outcomes
