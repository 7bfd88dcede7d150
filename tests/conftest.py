"""Shared fixtures and settings for the Co-Mixup test suite."""

from __future__ import annotations

import pytest
import torch
from hypothesis import settings

# No example database: the suite must not write outside tests/ (and .hypothesis/ is noise).
settings.register_profile("comixup", deadline=None, database=None, max_examples=30)
settings.load_profile("comixup")


def pytest_configure(config) -> None:
    # Under pytest-xdist every worker is a process with torch's default of one thread per
    # core; share the cores out instead, so that the workers do not oversubscribe them.
    import os

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        torch.set_num_threads(max(1, torch.get_num_threads() // workers))


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A private MLflow store (SQLite) and working directory for each test; closes any run a
    failing test left open, so that the next test starts clean."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def generator() -> torch.Generator:
    """A torch generator with a fixed seed."""
    return torch.Generator().manual_seed(1234)


class TinyNet(torch.nn.Module):
    """A small CNN with batch norm that declares Manifold Mixup's mixing stages."""

    def __init__(self, num_classes: int = 10, channels: int = 3) -> None:
        super().__init__()
        self.block1 = torch.nn.Sequential(
            torch.nn.Conv2d(channels, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
        )
        self.block2 = torch.nn.Sequential(
            torch.nn.Conv2d(8, 8, 3, padding=1, stride=2), torch.nn.BatchNorm2d(8), torch.nn.ReLU()
        )
        self.head = torch.nn.Sequential(
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, num_classes)
        )

    def mixing_stages(self):
        return [self.block1, self.block2, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block2(self.block1(x)))


@pytest.fixture
def tiny_net() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet()
