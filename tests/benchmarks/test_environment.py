"""The one environment probe behind reports, the analysis summary and the MLflow tags."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys

import pytest
import torch

from benchmarks import environment as env
from benchmarks.analysis.report import SUMMARY_ENVIRONMENT
from benchmarks.runner.tracking import environment_tags
from benchmarks.tables.report import SHOWN_ENVIRONMENT


def test_asked_keys_come_back_in_order_with_their_values():
    keys = ["numpy", "python", "logical cores", "git commit", "CPU"]
    info = env.environment(keys)
    assert list(info) == keys
    assert info["python"] == platform.python_version()
    assert info["logical cores"] == str(os.cpu_count())
    assert re.fullmatch(r"\d+\.\d+.*", info["numpy"])
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?|unknown", info["git commit"])
    assert info["CPU"]


def test_everything_at_once_and_the_device_only_when_given():
    everything = env.environment()
    assert "device" not in everything
    assert set(env.PACKAGES) <= set(everything)
    assert set(SUMMARY_ENVIRONMENT) <= set(everything)
    assert set(SHOWN_ENVIRONMENT) <= set(everything)
    cpu = env.environment(["device", "torch threads"], device=torch.device("cpu"))
    assert cpu["device"].startswith("cpu (") and cpu["torch threads"] in cpu["device"]


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown environment key.*'gpu'.*known: CPU"):
        env.environment(["python", "gpu"])
    with pytest.raises(ValueError, match="pass a device"):
        env.environment(["device"])


def test_mlflow_tags_keep_their_names():
    tags = environment_tags(torch.device("cpu"))
    expected = {"git_commit", "device", "python"}
    expected |= {f"version.{name}" for name in ("torch", "torchvision", "numpy", "gco-wrapper")}
    assert set(tags) == expected | {"version.mlflow"}
    assert torch.__version__.startswith(tags["version.torch"])
    assert tags["git_commit"] == env.git_commit()


def test_the_environment_module_and_the_plots_import_no_pyplot(tmp_path):
    script = (
        "import sys, torch\n"
        "from benchmarks import environment\nfrom benchmarks.runner import plots\n"
        "environment.environment()\n"
        f"plots.learning_curves({{'train_loss': [2.0, 1.5], 'test_ece': [0.2, 0.1]}}, "
        f"__import__('pathlib').Path({str(tmp_path / 'curves.png')!r}))\n"
        "plots.sample_grid(torch.rand(4, 3, 8, 8), (0.5,) * 3, (0.2,) * 3, "
        f"__import__('pathlib').Path({str(tmp_path / 'grid.png')!r}), title='mixed')\n"
        "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'no pyplot')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no pyplot"
    for name in ("curves.png", "grid.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
