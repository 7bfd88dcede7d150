"""The runner's parts on their own: the learning-rate schedule, early stopping, the seeding rule,
evaluation against a hand count, evaluation shards, checkpoints, and the runner's imports."""

from __future__ import annotations

import ast
import dataclasses
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmarks.configs import Phase, TrainConfig
from benchmarks.runner.distributed import Distributed, shard, wrap_for_training
from benchmarks.runner.early_stopping import EarlyStopping
from benchmarks.runner.optim import EpochPlan, build_optimizer, build_scheduler
from benchmarks.seeding import Stream, derive_seed, epoch_seeds, seed_epoch

ROOT = Path(__file__).resolve().parents[2]

# --- the learning-rate schedule ----------------------------------------------------------------


def _lrs(config: TrainConfig, plan: EpochPlan) -> list[float]:
    """The learning rate each optimiser step trains with, stepping the scheduler per step."""
    optimizer = build_optimizer(torch.nn.Linear(2, 2), config)
    scheduler = build_scheduler(optimizer, config, plan)
    seen = []
    for _ in range(sum(plan.steps_per_epoch)):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_the_step_schedule_decays_per_iteration_at_the_milestones():
    config = TrainConfig(lr=0.1, milestones=(1, 3), lr_decay=0.5)
    lrs = _lrs(config, EpochPlan((2, 3, 1, 2)))
    expected = [0.1] * 2 + [0.05] * 3 + [0.05] + [0.025] * 2
    assert lrs == pytest.approx(expected, rel=1e-12)


def test_phases_interpolate_per_iteration_with_their_own_batch_counts():
    phases = (
        Phase(0, 10, lr_epochs=(0, 2), lr_values=(0.0, 0.4)),
        Phase(2, 20, lr_epochs=(2, 3), lr_values=(0.2, 0.1)),
    )
    config = TrainConfig(lr=0.4, phases=phases, milestones=(1,))  # milestones: phases win
    lrs = _lrs(config, EpochPlan((4, 4, 2)))
    fractional = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]
    expected = [float(np.interp(t, (0, 2), (0.0, 0.4))) for t in fractional[:8]]
    expected += [float(np.interp(t, (2, 3), (0.2, 0.1))) for t in fractional[8:]]
    assert lrs == pytest.approx(expected, rel=1e-12)


def test_a_restored_scheduler_continues_the_same_curve():
    config = TrainConfig(lr=0.1, milestones=(2,), lr_decay=0.1)
    plan = EpochPlan((3, 3, 3))
    whole = _lrs(config, plan)
    optimizer = build_optimizer(torch.nn.Linear(2, 2), config)
    scheduler = build_scheduler(optimizer, config, plan)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    optimizer = build_optimizer(torch.nn.Linear(2, 2), config)
    scheduler = build_scheduler(optimizer, config, plan)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rest = []
    for _ in range(5):
        rest.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rest == whole[4:]


def test_epoch_plan_locates_steps_and_rejects_empty_epochs():
    plan = EpochPlan((2, 4))
    assert [plan.locate(s) for s in range(6)] == [
        (0, 0.5),
        (0, 1.0),
        (1, 1.25),
        (1, 1.5),
        (1, 1.75),
        (1, 2.0),
    ]
    assert plan.locate(6) == (1, 2.0)  # after the last step: the end of training
    with pytest.raises(ValueError, match="at least one step"):
        EpochPlan((2, 0))
    with pytest.raises(ValueError, match=r"lr must be (positive|a number > 0)"):
        phased = TrainConfig(lr=0.0, phases=(Phase(0, 10, lr_epochs=(0, 1), lr_values=(0, 1)),))
        build_scheduler(build_optimizer(torch.nn.Linear(2, 2), phased), phased, plan)


# --- early stopping ----------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_and_keeps_the_test_error_at_the_best_epoch():
    stopping = EarlyStopping(patience=2)
    decisions = [
        stopping.update(accuracy, test_error=error)
        for accuracy, error in [(50, 60), (60, 55), (60, 40), (55, 30)]
    ]
    assert decisions == [False, False, False, True]  # a tie is not an improvement
    assert stopping.best_error == 40 and stopping.test_error_at_best == 55
    assert not any(EarlyStopping(None).update(a, test_error=0) for a in (3, 2, 1, 0))
    with pytest.raises(ValueError, match="patience must be at least 1"):
        EarlyStopping(patience=0)


def test_early_stopping_state_round_trips_through_a_checkpoint(tmp_path):
    scores = [(40, 70), (45, 65), (44, 60), (43, 50), (46, 45), (41, 40), (40, 35)]
    whole = EarlyStopping(patience=2)
    whole_decisions = [whole.update(a, test_error=e) for a, e in scores]

    first = EarlyStopping(patience=2)
    decisions = [first.update(a, test_error=e) for a, e in scores[:3]]
    torch.save(first.state_dict(), tmp_path / "stop.pt")
    resumed = EarlyStopping(patience=2)
    resumed.load_state_dict(torch.load(tmp_path / "stop.pt", weights_only=True))
    decisions += [resumed.update(a, test_error=e) for a, e in scores[3:]]
    assert decisions == whole_decisions and resumed == whole
    with pytest.raises(ValueError, match="unknown early-stopping state 'best'"):
        EarlyStopping().load_state_dict({"best": 1.0})


# --- the seeding rule --------------------------------------------------------------------------


def test_the_seeding_rule_repeats_for_a_seed_and_separates_ranks_epochs_and_streams():
    assert epoch_seeds(3, 2, 1) == epoch_seeds(3, 2, 1)
    seeds = {
        derive_seed(seed, stream, epoch=epoch, rank=rank)
        for seed in (0, 1)
        for stream in Stream
        for epoch in (0, 1)
        for rank in (0, 1)
    }
    assert len(seeds) == 2 * len(Stream) * 2 * 2  # all distinct
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="non-negative seed"):
        derive_seed(-1, Stream.INIT)


def test_seed_epoch_gives_each_rank_its_own_draws_and_repeats_them():
    def draws(rank: int, epoch: int) -> list[float]:
        generator = torch.Generator()
        loader = torch.utils.data.DataLoader(range(8), shuffle=True, generator=torch.Generator())
        seed_epoch(5, epoch, rank, method_generator=generator, loader=loader)
        method = torch.rand(3, generator=generator).tolist()
        host = [*torch.rand(2).tolist(), float(np.random.rand())]
        return method + host + [float(i) for batch in loader for i in batch]

    assert draws(0, 1) == draws(0, 1)
    assert draws(0, 1) != draws(1, 1)
    assert draws(0, 1) != draws(0, 2)


# --- evaluation and sharding -------------------------------------------------------------------


def test_evaluate_matches_a_hand_count():
    from torchmetrics.classification import MulticlassCalibrationError

    from benchmarks.runner.evaluate import eval_loader, evaluate

    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 6, generator=generator), torch.randint(0, 7, (50,), generator=generator)
    model = torch.nn.Linear(6, 7)
    data = list(zip(x, y, strict=True))
    loader = eval_loader(data, batch_size=16, workers=0, world=Distributed())
    result = evaluate(model, loader, 7, torch.device("cpu"), amp=False, limit=None)
    with torch.no_grad():
        logits = model(x)
    top5 = logits.topk(5, dim=1).indices
    ece = MulticlassCalibrationError(7, n_bins=10, norm="l1")(logits.softmax(1), y).item()
    assert result["test_top1_error"] == pytest.approx(100 * (1 - (top5[:, 0] == y).float().mean()))
    top5_hits = (top5 == y[:, None]).any(1).float().mean()
    assert result["test_top5_error"] == pytest.approx(100 * (1 - top5_hits))
    assert result["test_loss"] == pytest.approx(F.cross_entropy(logits, y).item())
    assert result["test_ece"] == pytest.approx(ece)


def test_shards_cover_every_item_once():
    data = list(range(11))
    shards = [list(shard(data, Distributed(rank, 3))) for rank in range(3)]
    assert sorted(item for part in shards for item in part) == data
    assert shards[1] == [1, 4, 7, 10]
    assert shard(data, Distributed()) is data


def test_a_single_process_trains_the_bare_model():
    from baselines.manifold_mixup import ManifoldMixupMethod, StagedForward

    model = torch.nn.Linear(2, 2)
    method = ManifoldMixupMethod(num_classes=2)
    assert wrap_for_training(model, method, Distributed(), torch.device("cpu")) is model
    assert isinstance(method.wrap_model(model), StagedForward)


# --- checkpoints and imports -------------------------------------------------------------------


def test_a_checkpoint_of_another_format_says_to_start_over(tmp_path):
    from benchmarks.runner.checkpoint import TrainState, load, save_atomic

    path = tmp_path / "last.pt"
    stopping = EarlyStopping(3)
    stopping.update(50.0, test_error=40.0)
    state = TrainState({}, {}, {}, {}, stopping.state_dict(), 2, {"a": [1.0]}, "r", {})
    save_atomic(state, path)
    assert load(path) == state
    torch.save({"model": {}, "epoch": 1}, path)  # a version-1 checkpoint
    with pytest.raises(ValueError, match="--fresh"):
        load(path)


RUNNER_MODULES = (
    "runner/train",
    "runner/engine",
    "runner/evaluate",
    "runner/optim",
    "runner/early_stopping",
    "runner/checkpoint",
    "runner/distributed",
    "seeding",
    "runner/tracking",
    "runner/batch_timer",
)


@pytest.mark.parametrize("name", RUNNER_MODULES)
def test_the_runner_imports_no_baseline(name):
    tree = ast.parse((ROOT / "benchmarks" / f"{name}.py").read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imported, name
    assert not [module for module in imported if module and module.startswith("baselines")]


def test_runner_modules_stay_small():
    for name in RUNNER_MODULES:
        lines = (ROOT / "benchmarks" / f"{name}.py").read_text().splitlines()
        assert len(lines) <= 400, name
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 60, f"{name}.{node.name}"


def test_config_fields_the_schedule_reads_exist():
    names = {item.name for item in dataclasses.fields(TrainConfig)}
    assert {"lr", "milestones", "lr_decay", "phases"} <= names
    assert math.isclose(TrainConfig().lr_decay, 0.1)


def test_the_reported_statistics_are_the_official_logs():
    """Median of the last 10 epochs (the paper's), last, best; short runs say how many."""
    from benchmarks.runner.evaluate import reported_errors

    errors = [50.0, 40.0, 30.0, 35.0, 31.0, 29.0, 33.0, 30.5, 28.0, 34.0, 32.0, 36.0]
    stats = reported_errors(errors)
    assert stats["test_top1_error_median_last10"] == statistics.median(errors[2:])
    assert stats["test_top1_error_last"] == 36.0
    assert stats["test_top1_error_best"] == 28.0
    assert stats["epochs_in_median"] == 10
    short = reported_errors([40.0, 30.0, 35.0])
    assert short["test_top1_error_median_last10"] == 35.0 and short["epochs_in_median"] == 3
