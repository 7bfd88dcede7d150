"""What an acceptance run measured on: the device, the CUDA and cuDNN versions, torch and the
GPU driver, the CPU and its threads (the probes of ``benchmarks.environment`` plus the ones
only a GPU run needs)."""

from __future__ import annotations

import shutil
import subprocess

import torch

from benchmarks.environment import environment

CPU_KEYS = ("CPU", "logical cores", "torch threads", "BLAS/OpenMP threads", "load average")
LIBRARY_KEYS = ("python", "platform", "torch", "torchvision", "gco-wrapper", "mlflow")


def driver_version() -> str:
    """The NVIDIA driver's version from ``nvidia-smi``, or why there is none."""
    if shutil.which("nvidia-smi") is None:
        return "none (nvidia-smi not found)"
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"unknown (nvidia-smi failed: {error})"
    return ", ".join(sorted(set(done.stdout.split()))) or "unknown (nvidia-smi said nothing)"


def cudnn_version() -> str:
    version = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return str(version) if version is not None else "none"


def device_info(device: torch.device) -> dict[str, str]:
    """The environment as the report shows it, in a fixed order."""
    info = {
        "device": environment(["device"], device=device)["device"],
        "torch CUDA build": str(torch.version.cuda),
        "cuDNN": cudnn_version(),
        "driver": driver_version(),
        "CUDA devices visible": str(torch.cuda.device_count()),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["GPU memory (GiB)"] = f"{props.total_memory / 2**30:.1f}"
        info["compute capability"] = f"{props.major}.{props.minor}"
    return info | environment([*LIBRARY_KEYS, *CPU_KEYS, "git commit"])
