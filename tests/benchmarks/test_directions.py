"""The verdict rule of the ordering claims (benchmarks.tables.directions) on hand-made seeds,
and the report's lead built from them."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from benchmarks.tables import directions as d
from benchmarks.tables.claims import NOT_COMPARED, Claim
from benchmarks.tables.reproduction import Section, Source, counts_by_scale, render


def test_a_significant_lead_the_papers_way_holds_and_its_p_is_the_paired_t_tests():
    ours = {0: 10.0, 1: 11.0, 2: 9.5, 3: 10.2, 4: 10.4}
    theirs = {0: 14.0, 1: 15.5, 2: 13.0, 3: 14.1, 4: 15.0}
    found = d.paired_verdict(ours, theirs, lower_is_better=True)
    assert found["verdict"] == d.HOLDS
    seeds = sorted(ours)
    expected = stats.ttest_rel([ours[s] for s in seeds], [theirs[s] for s in seeds]).pvalue
    assert math.isclose(found["p_value"], expected, rel_tol=1e-9)
    assert found["pairs"] == 5 and found["margin"] > 0


def test_a_significant_lead_the_other_way_is_reversed():
    ours = {0: 14.0, 1: 15.5, 2: 13.0, 3: 14.1}
    theirs = {0: 10.0, 1: 11.0, 2: 9.5, 3: 10.2}
    assert d.paired_verdict(ours, theirs, lower_is_better=True)["verdict"] == d.REVERSED
    # Higher is better (localisation accuracy): the same numbers now hold.
    assert d.paired_verdict(ours, theirs, lower_is_better=False)["verdict"] == d.HOLDS


def test_differences_within_the_seeds_noise_are_not_significant():
    ours = {0: 10.0, 1: 12.0, 2: 9.0, 3: 11.0}
    theirs = {0: 11.0, 1: 10.5, 2: 10.0, 3: 10.8}
    found = d.paired_verdict(ours, theirs, lower_is_better=True)
    assert found["verdict"] == d.NOT_SIGNIFICANT and found["p_value"] >= d.ALPHA


def test_one_shared_seed_is_too_few_and_a_missing_side_is_not_run():
    found = d.paired_verdict({0: 1.0, 1: 2.0}, {1: 5.0, 2: 6.0}, lower_is_better=True)
    assert found["verdict"] == d.TOO_FEW_SEEDS and found["pairs"] == 1
    assert d.paired_verdict({}, {0: 1.0}, lower_is_better=True)["verdict"] == d.NOT_RUN


def test_pairs_are_matched_by_seed_not_by_position():
    # Seed 2's large values on both sides cancel only when paired by seed.
    ours = {0: 1.0, 1: 1.1, 2: 50.0}
    theirs = {2: 51.0, 1: 2.05, 0: 2.0}
    assert d.paired_verdict(ours, theirs, lower_is_better=True)["verdict"] == d.HOLDS


def test_equal_leads_without_spread_take_the_exact_sign_flip_p():
    # Two pairs 5 points apart on an 80-clip set (1.25-point steps) are not a verdict.
    assert d.judge([-5.0, -5.0]) == (d.NOT_SIGNIFICANT, 0.5)
    assert d.judge([1.0] * 5) == (d.NOT_SIGNIFICANT, 0.0625)
    assert d.judge([1.0] * 6) == (d.HOLDS, 0.03125)
    assert d.judge([-2.0] * 6) == (d.REVERSED, 0.03125)
    assert d.judge([0.0, 0.0]) == (d.NOT_SIGNIFICANT, 1.0)


def test_welch_over_timed_batches_for_the_timing_order():
    slower = d.welch_verdict((200.0, 5.0, 10), (100.0, 5.0, 10), lower_is_better=False)
    assert slower["verdict"] == d.HOLDS and slower["test"] == d.WELCH_TEST
    close = d.welch_verdict((101.0, 20.0, 10), (100.0, 20.0, 10), lower_is_better=False)
    assert close["verdict"] == d.NOT_SIGNIFICANT
    assert d.welch_verdict((1.0, 0.1, 1), (2.0, 0.1, 1), lower_is_better=False)["verdict"] == (
        d.TOO_FEW_SEEDS
    )


def test_by_seed_reads_a_tidy_frame_and_skips_missing_values():
    tidy = pd.DataFrame(
        {
            "method": ["a", "a", "a", "b"],
            "seed": [1, 0, 2, 0],
            "run_id": ["r1", "r0", "r2", "s0"],
            "median10": [5.0, 4.0, None, 9.0],
        }
    )
    values, runs = d.by_seed(tidy, "median10", method="a")
    assert values == {0: 4.0, 1: 5.0} and runs == ("r0", "r1")


def test_the_report_leads_with_the_orderings_and_counts_by_kind_and_scale(tmp_path: Path):
    held = d.direction(
        "Table 1",
        "Co-Mixup errs less than Puzzle Mix, boxed-digits/preactresnet18",
        ("comixup", {0: 2.0, 1: 2.5, 2: 3.0}, ["c0", "c1", "c2"]),
        ("puzzle_mix", {0: 14.0, 1: 17.0, 2: 16.0}, ["p0", "p1", "p2"]),
        statistic="top-1 error %",
        scale="reduced",
    )
    few = d.direction(
        "Table 7",
        "m = 20 errs less than m = 2",
        ("m = 20", {0: 2.0}, ["x"]),
        ("m = 2", {0: 3.0}, ["y"]),
        statistic="top-1 error %",
        scale="reduced",
    )
    number = Claim("Table 1", "Co-Mixup error", 19.87, 2.5, "top-1 error %", "reduced", seeds=3)
    assert number.verdict == NOT_COMPARED
    section = Section(Source("Table 1", "m", "cmd"), [number], "", [held, few])
    text = render([section], scale="reduced", seeds=None, out=tmp_path, tracking="sqlite://")
    lead = text.index("## The paper's orderings at the reduced scale")
    assert lead < text.index("## Summary: the paper's numbers")
    assert "2 ordering claims: 1 *holds*; 1 *too few seeds*" in text
    assert "c0 c1 c2 p0 p1 p2" in text  # the runs behind each verdict
    table = counts_by_scale([section])
    assert set(zip(table["claim"], table["verdict"], table["claims"], strict=True)) == {
        ("ordering", d.HOLDS, 1),
        ("ordering", d.TOO_FEW_SEEDS, 1),
        ("number", NOT_COMPARED, 1),
    }


def test_the_convergence_note_names_the_methods_still_improving_and_near_chance():
    from benchmarks.tables.convergence import convergence_frame, convergence_note, fall_per_epoch

    assert fall_per_epoch([50, 40, 30, 20, 10]) == pytest.approx(10.0)
    assert fall_per_epoch([90.0] * 3 + [5.0] * 10) == pytest.approx(0.0)  # only the last 10
    tidy = pd.DataFrame(
        {
            "setting": ["s", "s"],
            "method": ["flat", "falling"],
            "run_id": ["a", "b"],
            "median10": [5.0, 60.0],
        }
    )
    curves = {"a": [5.0] * 10, "b": [80.0 - 2 * i for i in range(10)]}
    note = convergence_note(convergence_frame(tidy, curves), chance=90.0)
    assert "still improving: falling (2.00/epoch)" in note
    assert "a run above it: falling (60.0%)" in note and "flat" not in note


def test_the_convergence_note_leaves_early_stopped_runs_to_their_protocol():
    from benchmarks.tables.convergence import convergence_frame, convergence_note

    tidy = pd.DataFrame(
        {
            "setting": ["s"] * 3,
            "method": ["stopped", "stopped", "limit"],
            "run_id": ["a", "b", "c"],
            "median10": [20.0, 20.0, 10.0],
        }
    )
    falling = [80.0 - 5 * i for i in range(12)]
    curves = {"a": falling, "b": falling, "c": [60.0 - 3 * i for i in range(20)]}
    note = convergence_note(convergence_frame(tidy, curves, {"a", "b"}), chance=90.0)
    assert "Early stopping ended 2 of the 3 runs" in note
    assert "still improving: limit (3.00/epoch)" in note and "stopped (" not in note
    everyone = convergence_note(convergence_frame(tidy, curves, {"a", "b", "c"}), chance=90.0)
    assert "No run reached its epoch limit." in everyone and "still improving" not in everyone
