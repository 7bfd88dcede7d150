"""Calibration (Table 6, Figures 3-5): the predictions a run keeps, the ECE from them against an
independent computation, and the table and diagrams from a store of real tiny runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image
from sweep_fixtures import TINY, tiny_set
from torchmetrics.functional.classification import multiclass_calibration_error

from benchmarks.cli import main
from benchmarks.configs import apply_overrides, preset
from benchmarks.runner import predictions as preds
from benchmarks.runner import train as train_module
from benchmarks.runner.train import train
from benchmarks.sweep import launch
from benchmarks.sweep.experiments import MAIN_METHODS, expand, get_experiment
from benchmarks.sweep.state import run_states
from benchmarks.tables import calibration as cal
from benchmarks.tables import calibration_error as ece
from benchmarks.tables.claims import NOT_RUN


def numpy_ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE as TensorFlow Probability's ``expected_calibration_error`` defines it, written out
    bin by bin: bin floor(c * n) (1.0 in the last), sum of |accuracy - mean confidence| weighted
    by the bin's share of the items."""
    total = 0.0
    index = np.minimum(np.floor(confidence * n_bins).astype(int), n_bins - 1)
    for b in range(n_bins):
        members = index == b
        if members.any():
            gap = correct[members].mean() - confidence[members].mean()
            total += members.mean() * abs(gap)
    return float(total)


def made(rows: list[tuple[list[float], bool]]) -> preds.Predictions:
    """Predictions from (top probabilities, whether the top class is the label) by hand; the
    classes are 0, 1, ... in order, a wrong item's label is class 1."""
    k = max(len(p) for p, _ in rows)
    probabilities = np.array([p + [0.0] * (k - len(p)) for p, _ in rows], np.float32)
    labels = np.array([0 if right else 1 for _, right in rows], np.int16)
    return preds.Predictions(
        top_classes=np.tile(np.arange(k, dtype=np.int16), (len(rows), 1)),
        top_probabilities=probabilities,
        label_probability=probabilities[np.arange(len(rows)), labels],
        labels=labels,
        num_classes=k,
    )


# ------------------------------------------------------------------------ the experiment ----


@pytest.mark.parametrize("scale", ["paper", "smoke"])
def test_calibration_trains_nothing_of_its_own_it_reads_mains_runs(scale):
    runs = expand("calibration", scale=scale)
    main_keys = {run.key for run in expand("main", scale=scale)}
    assert runs and {run.key for run in runs} <= main_keys
    assert {run.method for run in runs} == set(MAIN_METHODS)
    if scale == "paper":
        assert {run.setting for run in runs} == {
            "cifar100/preactresnet18",
            "tiny-imagenet/preactresnet18",
            "imagenet/resnet50",
        }
        assert len(runs) == 3 * 6 * 3
    # The paper's column comes from paper_values.toml, one value per dataset and method.
    assert [cal.paper_value("tiny-imagenet", m) for m in MAIN_METHODS] == [
        4.5, 6.2, 6.8, 12.0, 5.6, 2.5,
    ]  # fmt: skip
    assert cal.paper_value("builtin", "vanilla") is None


def test_sweep_says_which_runs_it_reads(store, capsys):
    assert main(["sweep", "calibration", "--scale", "smoke", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "reads main's runs of its settings (builtin/preactresnet18)" in out
    assert "0 of 12 runs done" in out


# ------------------------------------------------------------------- the ECE computations ----


@pytest.mark.parametrize(
    ("seed", "num_classes", "scale"), [(0, 10, 1.0), (1, 100, 4.0), (2, 3, 8.0)]
)
def test_the_ece_from_kept_predictions_matches_numpy_and_the_full_matrix(seed, num_classes, scale):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(800, num_classes, generator=g) * scale
    labels = torch.randint(num_classes, (800,), generator=g)
    # Make the accuracy far from chance so that several bins are filled on both sides.
    labels[:400] = logits[:400].argmax(dim=1)
    kept = preds.from_logits(logits, labels)
    assert kept.top_classes.shape == (800, min(5, num_classes))

    probabilities = logits.softmax(dim=1).numpy()
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels.numpy()
    reference = numpy_ece(confidence.astype(np.float64), correct)
    full = multiclass_calibration_error(
        logits.softmax(dim=1), labels, num_classes=num_classes, n_bins=10, norm="l1"
    )
    assert reference > 0.01
    assert ece.expected_calibration_error(kept) == pytest.approx(reference, abs=1e-6)
    assert ece.expected_calibration_error(kept) == pytest.approx(float(full), abs=1e-6)
    assert ece.tfp_ece(kept) == pytest.approx(reference, abs=1e-6)


def test_a_hand_made_case_with_a_known_ece():
    # Bin [0.9, 1): 4 items at 0.95, 3 right: |0.75 - 0.95| x 4/10 = 0.08.
    # Bin [0.3, 0.4): 6 items at 0.35, 3 right: |0.5 - 0.35| x 6/10 = 0.09. ECE = 0.17.
    rows = [([0.95, 0.05], i < 3) for i in range(4)] + [([0.35, 0.3], i < 3) for i in range(6)]
    kept = made(rows)
    assert ece.expected_calibration_error(kept) == pytest.approx(0.17, abs=1e-6)
    assert numpy_ece(kept.confidence.astype(np.float64), kept.correct) == pytest.approx(0.17)
    bins = ece.reliability_bins(kept.confidence, kept.correct)
    assert list(bins["count"]) == [0, 0, 0, 6, 0, 0, 0, 0, 0, 4]
    assert bins.loc[3, "accuracy"] == pytest.approx(0.5)
    assert bins.loc[9, "confidence"] == pytest.approx(0.95)
    assert bins.loc[0, "accuracy"] != bins.loc[0, "accuracy"]  # empty bin: NaN
    assert ece.binned_ece(bins) == pytest.approx(0.17, abs=1e-6)


def test_a_confidence_of_one_is_a_bin_of_its_own_in_torchmetrics_only():
    # Two items at 1.0 (one right), two at 0.95 (both right).
    # TensorFlow Probability: one bin, accuracy 0.75, confidence 0.975: ECE 0.225.
    # torchmetrics: |0.5 - 1.0| x 1/2 + |1.0 - 0.95| x 1/2 = 0.275.
    kept = made([([1.0], True), ([1.0], False), ([0.95, 0.05], True), ([0.95, 0.05], True)])
    assert ece.tfp_ece(kept) == pytest.approx(0.225, abs=1e-6)
    assert numpy_ece(kept.confidence.astype(np.float64), kept.correct) == pytest.approx(0.225)
    assert ece.expected_calibration_error(kept) == pytest.approx(0.275, abs=1e-6)


def test_perfectly_calibrated_predictions_have_no_error():
    rows = [([0.25, 0.25, 0.25, 0.25], i == 0) for i in range(4)] * 5
    rows += [([0.75, 0.25], i < 3) for i in range(4)] * 5
    assert ece.expected_calibration_error(made(rows)) == pytest.approx(0.0, abs=1e-7)


# ------------------------------------------------------------------ the kept predictions ----


def test_kept_predictions_are_sorted_and_hold_the_labels_probability():
    g = torch.Generator().manual_seed(3)
    logits, labels = torch.randn(50, 3, generator=g), torch.randint(3, (50,), generator=g)
    kept = preds.from_logits(logits, labels)
    probabilities = logits.softmax(dim=1)
    assert kept.top_classes.shape == (50, 3)  # fewer classes than 5: all of them
    assert (np.diff(kept.top_probabilities, axis=1) <= 0).all()
    np.testing.assert_allclose(kept.label_probability, probabilities[torch.arange(50), labels])
    np.testing.assert_array_equal(kept.top_classes[:, 0], probabilities.argmax(dim=1))
    with pytest.raises(ValueError, match="flatten"):
        preds.from_logits(logits[None], labels)


def test_the_ranks_shares_go_back_in_the_sets_order():
    g = torch.Generator().manual_seed(4)
    whole = preds.from_logits(torch.randn(11, 6, generator=g), torch.arange(11) % 6)
    shares = [preds.take(whole, np.arange(rank, 11, 3)) for rank in range(3)]  # as shard() does
    joined = preds.interleave(shares)
    for field in ("top_classes", "top_probabilities", "label_probability", "labels"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field))


def test_the_artifact_round_trips_and_refuses_another_format(tmp_path):
    g = torch.Generator().manual_seed(5)
    kept = preds.from_logits(torch.randn(20, 1000, generator=g), torch.arange(20) * 37)
    path = tmp_path / preds.ARTIFACT
    preds.save(kept, path)
    loaded = preds.load(path)
    assert loaded.num_classes == 1000 and loaded.labels.dtype == np.int16
    np.testing.assert_array_equal(loaded.top_probabilities, kept.top_probabilities)
    np.testing.assert_array_equal(loaded.labels, kept.labels)
    with np.load(path) as data:
        fields = dict(data)
    np.savez(path, **(fields | {"format": np.int32(preds.FORMAT + 1)}))
    with pytest.raises(ValueError, match="rebuild the table with the version"):
        preds.load(path)


def tiny_config(method: str, **changes):
    config = apply_overrides(preset("builtin"), [f"method={method}", *TINY, "warmup_batches=1"])
    return dataclasses.replace(config, **changes)


def downloaded(run_id: str) -> preds.Predictions:
    loaded = cal.load_predictions(run_id)
    assert loaded is not None, f"run {run_id} has no {preds.ARTIFACT}"
    return loaded


def test_a_run_keeps_its_final_predictions_and_a_resumed_run_the_same(store, tmp_path, monkeypatch):
    config = tiny_config("cutmix")
    whole = train(config, checkpoint_root=tmp_path / "a", progress=False)
    kept = downloaded(whole.run_id)
    metrics = whole.metrics
    # 2 evaluation batches of 20; the numbers the run logged at its last epoch.
    assert len(kept) == 40 and kept.num_classes == 10
    assert ece.expected_calibration_error(kept) == pytest.approx(metrics["test_ece"], abs=1e-6)
    assert 100 * (1 - kept.correct.mean()) == pytest.approx(metrics["test_top1_error"])
    top5 = (kept.top_classes == kept.labels[:, None]).any(axis=1)
    assert 100 * (1 - top5.mean()) == pytest.approx(metrics["test_top5_error"])
    assert -np.log(kept.label_probability).mean() == pytest.approx(metrics["test_loss"], rel=1e-5)

    # Killed after its last checkpoint, before its predictions: the rerun takes them from the
    # restored model, into the same run.
    real = train_module._final_predictions

    def killed(run):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_final_predictions", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint_root=tmp_path / "b", progress=False)
    monkeypatch.setattr(train_module, "_final_predictions", real)
    resumed = train(config, checkpoint_root=tmp_path / "b", progress=False)
    run = MlflowClient(store).get_run(resumed.run_id)
    assert run.info.status == "FINISHED"
    again = downloaded(resumed.run_id)
    np.testing.assert_array_equal(again.top_classes, kept.top_classes)
    np.testing.assert_allclose(again.top_probabilities, kept.top_probabilities, rtol=1e-6)
    np.testing.assert_array_equal(again.labels, kept.labels)


# ------------------------------------------------------------- the table from real runs ----


def test_the_table_and_diagrams_from_real_runs_and_a_missing_artifact(store, tmp_path, capsys):
    """Three real tiny runs of the main experiment (vanilla seeds 0 and 1, cutmix seed 0); one
    of them loses its artifact. The table's cells are the ECE recomputed from the artifacts,
    the lost one and the runs never made are named under it, the diagram is a PNG."""
    selection = ["--scale", "smoke", "--seeds", "2", *tiny_set()]
    runs = expand("calibration", scale="smoke", seeds=2, overrides=TINY)
    assert {run.experiment for run in runs} == {"main"}
    chosen = [
        r for r in runs if (r.method, r.seed) in {("vanilla", 0), ("vanilla", 1), ("cutmix", 0)}
    ]
    run_states(chosen, MlflowClient(store))  # the store exists before two workers open it
    failures = []
    launch.launch_local(
        chosen,
        jobs=2,
        checkpoint_root=tmp_path / "checkpoints",
        tracking_uri=store,
        report=lambda run, outcome, error: error and failures.append(error),
    )
    assert not failures
    states = {(s.run.method, s.run.seed): s for s in run_states(chosen, MlflowClient(store))}
    lost = states[("cutmix", 0)].run_id
    artifact_uri = MlflowClient(store).get_run(lost).info.artifact_uri
    (Path(urlparse(artifact_uri).path) / preds.ARTIFACT).unlink()

    assert main(["table", "calibration", *selection, "--out", "reports"]) == 0
    capsys.readouterr()
    reports = tmp_path / "reports"
    numbers = pd.read_csv(reports / "calibration.csv")
    text = (reports / "calibration.md").read_text()

    vanilla = numbers[numbers["method"] == "vanilla"].iloc[0]
    eces = [
        100 * ece.expected_calibration_error(downloaded(states[("vanilla", seed)].run_id))
        for seed in (0, 1)
    ]
    assert vanilla["seeds"] == 2
    assert vanilla["ece mean"] == pytest.approx(np.mean(eces))
    assert vanilla["ece std"] == pytest.approx(np.std(eces, ddof=1))
    logged = [100 * states[("vanilla", seed)].metrics["test_ece"] for seed in (0, 1)]
    assert vanilla["logged ece mean"] == pytest.approx(np.mean(logged))
    assert vanilla["max |artifact - logged|"] < 1e-4
    assert set(vanilla["MLflow runs"].split()) == {states[("vanilla", s)].run_id for s in (0, 1)}
    assert vanilla["paper"] == "3.9 / 4.5 / 5.9"  # the paper datasets the built-in set stands for

    cutmix = numbers[numbers["method"] == "cutmix"].iloc[0]
    assert cutmix["seeds"] == 0 and cutmix["runs without predictions"] == lost
    assert f"builtin/preactresnet18/cutmix seed 0 (run {lost})" in text
    assert "Finished runs without predictions.npz (1 of 3" in text
    assert "builtin/preactresnet18/comixup seed 1 (to do)" in text
    assert "![reliability_builtin](reliability_builtin.png)" in text

    with Image.open(reports / "reliability_builtin.png") as image:
        assert image.format == "PNG" and image.width > 1000 and image.height > 800

    measured = cal.measure(run_states(runs, MlflowClient(store)))
    experiment = get_experiment("calibration")
    claims = cal.claims_from(measured, experiment, "smoke", "comixup-bench sweep calibration")
    assert len(claims) == 3 * 6
    first = next(c for c in claims if c.claim.startswith("ECE of vanilla, cifar100"))
    assert first.paper == 3.9 and first.measured == pytest.approx(np.mean(eces))
    assert first.seeds == 2 and first.verdict == NOT_RUN
    assert first.figures == ("reliability_builtin.png",)
    assert all(c.measured is None for c in claims if "cutmix" in c.claim)
    # Without the tiny overrides the smoke grid is other runs, none of them made here.
    assert all(c.measured is None and c.verdict == NOT_RUN for c in cal.claims("smoke", 2))
