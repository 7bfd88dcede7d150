"""The alpha-beta swap backend: GCO through pyGCO, or the numba-compiled copy of its moves.

Both give the same labels on the same integer energies (``tests/test_labeling_backends.py``);
``"compiled"`` is the default because it is several times faster on the tiny grids used here.
pyGCO does not build on some platforms (pyGCO issues #17, #28) and numba may be missing, so
each backend falls back to the other with a one-line warning.
"""

from __future__ import annotations

import importlib
import warnings
from functools import cache
from typing import Protocol

import numpy as np

BACKENDS = ("compiled", "gco")
"""Names accepted by :func:`make_swap` and ``CoMixupConfig.labeling_backend``."""


class Swap(Protocol):
    """Alpha-beta swap on one grid: int32 energies in, labels (n_sites,) out."""

    n_edges: int

    def uniform_weights(self, weight: int) -> np.ndarray: ...

    def __call__(
        self, unary: np.ndarray, pairwise: np.ndarray, edge_weights: np.ndarray
    ) -> np.ndarray: ...


@cache
def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def gco_available() -> bool:
    """Whether pyGCO's compiled library loads."""
    return _importable("gco.cgco")


def numba_available() -> bool:
    """Whether numba (and so the compiled backend) imports."""
    return _importable("numba")


def resolve_backend(backend: str) -> str:
    """The backend that will run for ``backend``, after the fallbacks (warned once each)."""
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown labeling backend {backend!r}; choose one of {', '.join(BACKENDS)}."
        )
    has_gco, has_numba = gco_available(), numba_available()
    if not (has_gco or has_numba):
        raise ImportError(
            "no labeling backend: neither pyGCO (gco-wrapper) nor numba imports; "
            "install one, e.g. `pip install numba`."
        )
    if backend == "gco" and not has_gco:
        warnings.warn(
            "pyGCO (gco) does not import; using the compiled labeling backend instead.",
            RuntimeWarning,
            stacklevel=2,
        )
        return "compiled"
    if backend == "compiled" and not has_numba:
        warnings.warn(
            "numba does not import; using GCO's swap instead (pip install numba for speed).",
            RuntimeWarning,
            stacklevel=2,
        )
        return "gco"
    return backend


def make_swap(height: int, width: int, backend: str = "compiled") -> Swap:
    """An alpha-beta swap for a ``height x width`` grid from ``backend`` (after fallbacks)."""
    if resolve_backend(backend) == "compiled":
        from comixup.compiled_swap import CompiledSwap

        return CompiledSwap(height, width)
    from comixup.graphcut import GridSwap

    return GridSwap(height, width)
