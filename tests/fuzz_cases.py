"""Fuzz cases for the mixers and the solver, run in a worker process.

A case is a plain dict (which mixer, shapes, dtypes, hyperparameters, where to put a NaN or
inf, a seed); :func:`run_case` builds the tensors from it, calls the mixer and judges the
outcome. :class:`IsolatedRunner` runs cases in a spawned worker, so that a case that aborts
the interpreter (a C++ exception in GCO, a segfault) fails its test instead of killing pytest.

Outcomes: ``("ok", "")`` for a valid result, ``("refused", message)`` for a ValueError or
TypeError with a message, ``("bad", why)`` for anything else (another exception, an empty
message, a result that is not finite, labels that are not float32 or do not sum to 1).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from typing import Any

import torch

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "uint8": torch.uint8,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
LABEL_DTYPES = ("int64", "int32", "uint8", "int16", "bool")
MIXERS = (
    "InputMixup",
    "input_mixup",
    "CutMix",
    "cutmix",
    "PuzzleMix",
    "puzzle_mix",
    "CoMixup",
    "co_mixup",
    "solve_labeling",
)
SUM_TOLERANCE = 1e-4


def _tensor(shape: tuple[int, ...], dtype: str, generator: torch.Generator) -> torch.Tensor:
    values = torch.rand(shape, generator=generator, dtype=torch.float64)
    if dtype in ("uint8", "int32", "int64"):
        return (values * 255).to(DTYPES[dtype])
    if dtype == "bool":
        return values > 0.5
    return values.to(DTYPES[dtype])


def _poison(t: torch.Tensor, value: float) -> torch.Tensor:
    if not t.is_floating_point() or t.numel() == 0:
        return t
    t = t.clone()
    t.view(-1)[t.numel() // 2] = value
    return t


def _labels(case: dict, generator: torch.Generator) -> torch.Tensor:
    batch, classes = case["batch"], case["num_classes"]
    if case["labels"] == "soft":
        y = torch.rand(batch, classes, generator=generator, dtype=torch.float64) + 1e-3
        y = (y / y.sum(1, keepdim=True)).to(DTYPES[case["label_float"]])
    elif case["labels"] == "unnormalised":
        y = torch.rand(batch, classes, generator=generator) * 3
    elif case["labels"] == "negative":
        y = torch.full((batch, classes), 1.0 / classes)
        y[:, 0] -= 2.0
        y[:, -1] += 2.0
    else:
        y = torch.randint(0, classes, (batch,), generator=generator)
        bool_labels = case["labels"] == "bool"
        y = y % 2 == 1 if bool_labels else y.to(getattr(torch, case["labels"]))
    if case["poison"] == "y":
        y = _poison(y, case["poison_value"])
    return y


def _check_mixed(x: torch.Tensor, result: Any) -> str | None:
    """Why the mixer's result is invalid, or None."""
    x_mixed, y_soft = result
    if x_mixed.shape != x.shape or x_mixed.dtype != x.dtype:
        return f"x_mixed is {tuple(x_mixed.shape)} {x_mixed.dtype} for x {tuple(x.shape)} {x.dtype}"
    if not torch.isfinite(x_mixed).all():
        return "x_mixed is not finite"
    if y_soft.dtype != torch.float32 or y_soft.device != x.device:
        return f"soft labels are {y_soft.dtype} on {y_soft.device}"
    if y_soft.shape[0] != x.shape[0] or not torch.isfinite(y_soft).all() or (y_soft < 0).any():
        return "soft labels are not finite non-negative, one row per input"
    worst = float((y_soft.double().sum(1) - 1).abs().max())
    if worst > SUM_TOLERANCE:
        return f"soft labels sum to 1 +- {worst:.3g}"
    return None


def _check_labeling(z: torch.Tensor, cost: torch.Tensor, n_output: int) -> str | None:
    m, height, width = cost.shape
    if z.shape != (n_output, height, width, m) or z.dtype != cost.dtype:
        return f"z is {tuple(z.shape)} {z.dtype}"
    if not torch.isfinite(z).all() or (z < 0).any():
        return "z is not finite and non-negative"
    # z comes back in the cost's dtype: 16-bit thirds sum to 1 within their rounding.
    tolerance = max(SUM_TOLERANCE, 4 * torch.finfo(z.dtype).eps)
    worst = float((z.double().sum(-1) - 1).abs().max())
    return f"block weights sum to 1 +- {worst:.3g}" if worst > tolerance else None


def _config(name: str, overrides: dict):
    from baselines.puzzle_mix import PuzzleMixConfig
    from comixup import CoMixupConfig

    return (PuzzleMixConfig if name.lower().startswith("puzzle") else CoMixupConfig)(**overrides)


def _call(case: dict) -> str | None:
    """Build the case's inputs and call its mixer; why the result is invalid, or None."""
    from baselines.cutmix import CutMix, cutmix
    from baselines.input_mixup import InputMixup, input_mixup
    from baselines.puzzle_mix import PuzzleMix, puzzle_mix
    from comixup import CoMixup, co_mixup, solve_labeling

    generator = torch.Generator().manual_seed(case["seed"])
    device = case["device"]
    name, settings = case["mixer"], case["settings"]
    if name == "solve_labeling":
        m = case["batch"]
        cost = _tensor((m, case["height"], case["width"]), case["x_dtype"], generator)
        cost = -cost if cost.is_floating_point() else cost
        A = torch.rand(m, m, generator=generator, dtype=torch.float64).to(cost.dtype)
        cost = _poison(cost, case["poison_value"]) if case["poison"] == "saliency" else cost
        A = _poison(A, case["poison_value"]) if case["poison"] == "A" else A
        n_output = case["n_output"]
        z = solve_labeling(cost, A, n_output, _config(name, settings), generator)
        return _check_labeling(z, cost, n_output)
    shape = (case["batch"], case["channels"], case["height"], case["width"])
    x = _tensor(shape, case["x_dtype"], generator).to(device)
    if case["poison"] == "x":
        x = _poison(x, case["poison_value"])
    y = _labels(case, generator).to(device)
    num_classes = case["num_classes"] if case["pass_num_classes"] else None
    if name in ("InputMixup", "CutMix"):
        mixer = {"InputMixup": InputMixup, "CutMix": CutMix}[name]
        result = mixer(**settings, num_classes=num_classes)(x, y, generator=generator)
        return _check_mixed(x, result)
    if name in ("input_mixup", "cutmix"):
        mix = {"input_mixup": input_mixup, "cutmix": cutmix}[name]
        result = mix(x, y, generator=generator, **settings, num_classes=num_classes)
        return _check_mixed(x, result)
    saliency = _tensor(shape[:1] + shape[2:], case["saliency_dtype"], generator).to(device)
    if case["poison"] == "saliency":
        saliency = _poison(saliency, case["poison_value"])
    config = _config(name, settings)
    if name == "PuzzleMix":
        result = PuzzleMix(config, num_classes=num_classes)(
            x, y, saliency=saliency, generator=generator
        )
    elif name == "puzzle_mix":
        result = puzzle_mix(x, y, saliency, config, num_classes=num_classes, generator=generator)
    else:
        A = None
        if case["poison"] == "A" or case["negative_A"]:
            batch = case["batch"]
            A = torch.rand(batch, batch, generator=generator).to(device)
            A = -A if case["negative_A"] else _poison(A, case["poison_value"])
        if name == "CoMixup":
            result = CoMixup(config, num_classes=num_classes)(
                x, y, saliency=saliency, generator=generator, A=A
            )
        else:
            result = co_mixup(x, y, saliency, config, A, generator, num_classes=num_classes)
    return _check_mixed(x, result)


def run_case(case: dict) -> tuple[str, str]:
    """Run one case; its outcome as described in the module docstring."""
    try:
        problem = _call(case)
    except (ValueError, TypeError) as error:
        message = str(error).strip()
        if not message:
            return "bad", f"{type(error).__name__} without a message"
        return "refused", message
    except Exception as error:  # anything else is a finding, reported with its type
        return "bad", f"{type(error).__name__}: {error}"
    return ("bad", problem) if problem else ("ok", "")


class IsolatedRunner:
    """Runs cases in one spawned worker process, restarted when a case kills it."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        return self._pool

    def run(self, case: dict) -> tuple[str, str]:
        try:
            return self._executor().submit(run_case, case).result(timeout=600)
        except concurrent.futures.process.BrokenProcessPool:
            self.close()
            return "bad", "the worker process died (an abort or a crash)"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
