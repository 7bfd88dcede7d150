"""The runner under DistributedDataParallel: two CPU processes with the gloo backend, as
torchrun would start them (WORLD_SIZE, RANK, MASTER_ADDR/PORT in the environment)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing as mp
from mlflow.tracking import MlflowClient

from benchmarks.data import build_splits
from benchmarks.runner import predictions as preds
from benchmarks.tables.calibration import expected_calibration_error

METHODS = ("manifold_mixup", "comixup")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, folder: str) -> None:
    import os

    os.environ |= {
        "WORLD_SIZE": str(world_size),
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db",
    }
    os.chdir(folder)
    import torch
    import torch.distributed as dist

    from benchmarks.configs import apply_overrides, preset
    from benchmarks.runner.train import train

    torch.set_num_threads(1)
    outcome = {}
    for method in METHODS:
        config = apply_overrides(
            preset("builtin"),
            [
                f"method={method}",
                "epochs=1",
                "batch_size=20",
                "limit_batches=2",
                "limit_eval_batches=2",
                "width=4",
                "warmup_batches=0",
            ],
        )
        result = train(config, checkpoint_root=Path(folder) / "ckpt", progress=False)
        outcome[method] = {"run_id": result.run_id, "metrics": result.metrics}
    Path(folder, f"rank{rank}.json").write_text(json.dumps(outcome))
    dist.destroy_process_group()


def test_two_gloo_processes_train_and_only_rank_zero_logs(tmp_path):
    mp.spawn(_rank_main, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    test_set = build_splits("builtin", None)[1]
    experiment = client.get_experiment_by_name("builtin")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == len(METHODS)  # one run per method: rank 1 logged nothing
    for method in METHODS:
        run = client.get_run(rank0[method]["run_id"])
        assert run.info.status == "FINISHED"
        assert run.data.params["world_size"] == "2"
        assert rank1[method]["run_id"] == ""
        # The replicas stay identical, so both ranks evaluate the same model.
        assert rank0[method]["metrics"]["test_loss"] == rank1[method]["metrics"]["test_loss"]
        # The training loss is averaged over both ranks' shards.
        assert rank0[method]["metrics"]["train_loss"] == rank1[method]["metrics"]["train_loss"]
        # The final predictions join both ranks' shares in the test set's order.
        path = client.download_artifacts(run.info.run_id, preds.ARTIFACT, str(tmp_path))
        kept = preds.load(Path(path))
        np.testing.assert_array_equal(kept.labels, [test_set[i][1] for i in range(40)])
        ece = expected_calibration_error(kept)
        assert ece == pytest.approx(rank0[method]["metrics"]["test_ece"], abs=1e-6)
