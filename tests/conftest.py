"""Shared fixtures and settings for the Co-Mixup test suite."""

from __future__ import annotations

import pytest
import torch
from hypothesis import settings

# No example database: the suite must not write outside tests/ (and .hypothesis/ is noise).
settings.register_profile("comixup", deadline=None, database=None, max_examples=30)
settings.load_profile("comixup")


@pytest.fixture
def generator() -> torch.Generator:
    """A torch generator with a fixed seed."""
    return torch.Generator().manual_seed(1234)
