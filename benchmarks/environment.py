"""What a number was measured on: Python, platform, CPU, threads, library versions, device and
git commit, in one place.

Reports, analysis summaries and MLflow tags each show a part of it; they ask
:func:`environment` for the keys they show, so every probe is written once and only the
asked-for ones run (the git probe starts two processes, the BLAS probe inspects loaded
libraries). torch is imported inside the probes that need it, so this module stays light.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PACKAGES = ("torch", "torchvision", "numpy", "gco-wrapper", "pandas", "matplotlib", "mlflow")
"""Libraries whose versions :func:`environment` can report, each under its own name."""


def git_commit() -> str:
    """The commit of the working tree (``+dirty`` when it has changes), or ``unknown``."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_threads() -> str:
    """Thread counts of the BLAS/OpenMP pools NumPy and torch use (threadpoolctl), if known."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [
        f"{pool.get('internal_api', '?')} {pool.get('num_threads', '?')}"
        for pool in threadpool_info()
    ]
    return ", ".join(pools) or "none found"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def torch_threads() -> str:
    import torch

    return str(torch.get_num_threads())


def describe_device(device: torch.device) -> str:
    """The GPU's name, or the CPU's architecture and torch's thread count."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cuda_version() -> str:
    import torch

    return str(torch.version.cuda)


def _probes(device: torch.device | None) -> dict[str, Callable[[], str]]:
    probes: dict[str, Callable[[], str]] = {
        "CPU": cpu_model,
        "logical cores": lambda: str(os.cpu_count()),
        "torch threads": torch_threads,
        "BLAS/OpenMP threads": blas_threads,
        "python": platform.python_version,
        "platform": platform.platform,
        "load average": load_average,
        "git commit": git_commit,
        "cuda": _cuda_version,
    }
    if device is not None:
        probes["device"] = lambda: describe_device(device)
    for package in PACKAGES:
        probes[package] = lambda package=package: package_version(package)
    return probes


def environment(
    keys: Iterable[str] | None = None, *, device: torch.device | None = None
) -> dict[str, str]:
    """The environment as text, keyed in the order of ``keys`` (None: everything known).

    Keys: ``CPU``, ``logical cores``, ``torch threads``, ``BLAS/OpenMP threads``, ``python``,
    ``platform``, ``load average``, ``git commit``, ``cuda`` (the CUDA torch was built with),
    ``device`` (only with ``device``) and one per name in :data:`PACKAGES`.

    Raises:
        ValueError: a key that is none of these.
    """
    probes = _probes(device)
    wanted = list(probes if keys is None else keys)
    unknown = [key for key in wanted if key not in probes]
    if unknown:
        raise ValueError(
            f"unknown environment key(s) {unknown}; known: {', '.join(probes)} (pass a device "
            "for 'device')."
        )
    return {key: probes[key]() for key in wanted}
