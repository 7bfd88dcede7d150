"""Per-batch timing by phase: data, saliency, mixing (solver), forward+backward, optimizer.

On CUDA the runner's phases are bracketed by CUDA events and read after a synchronisation at
the end of the batch; on the CPU by ``time.perf_counter``. Saliency and mixing happen inside a
method's ``loss``; the method reports them (``saliency_seconds``, ``mixing_seconds``, measured
with a clock that waits for the device) and they are taken out of the step's time, which leaves
forward+backward. The first ``warmup`` batches of each process are left out of the summary
(a resumed run warms up again); a run with no batch past its warm-up is summarised over the
warm-up batches and says so (``timing_includes_warmup``). The samples travel in the checkpoint
(``state_dict``), so a resumed run's summary covers every epoch, not only those since the resume.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from comixup.method import MIXING_SECONDS, SALIENCY_SECONDS

PHASES = ("data", "saliency", "mixing", "forward_backward", "optimizer")


class _Span:
    """Start and end marks of one phase: CUDA events, or perf_counter readings."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.start_event = torch.cuda.Event(enable_timing=True)
            self.end_event = torch.cuda.Event(enable_timing=True)
        self.started = self.ended = 0.0

    def start(self) -> None:
        if self.cuda:
            self.start_event.record()
        else:
            self.started = time.perf_counter()

    def end(self) -> None:
        if self.cuda:
            self.end_event.record()
        else:
            self.ended = time.perf_counter()

    def seconds(self) -> float:
        """Elapsed seconds; on CUDA call after the batch's synchronisation."""
        if self.cuda:
            return self.start_event.elapsed_time(self.end_event) / 1000
        return self.ended - self.started


class BatchTimer:
    """Collects per-batch phase times and summarises them as median and p90 in milliseconds."""

    def __init__(self, device: torch.device, *, warmup: int = 5) -> None:
        self.device = device
        self.warmup = warmup
        self.batches_seen = 0
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.warmup_samples: dict[str, list[float]] = defaultdict(list)
        self._spans: dict[str, _Span] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the enclosed code as phase ``name`` of the current batch."""
        span = self._spans.get(name) or self._spans.setdefault(name, _Span(self.device))
        span.start()
        try:
            yield
        finally:
            span.end()

    def end_batch(self, stats: dict[str, float], *, step_phase: str = "step") -> dict[str, float]:
        """Close the batch: read the spans, split the step by the method's own phase times.

        Returns this batch's phase seconds (also kept for the summary after warm-up).
        """
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = {name: span.seconds() for name, span in self._spans.items()}
        step = seconds.pop(step_phase, 0.0)
        saliency = stats.get(SALIENCY_SECONDS, 0.0)
        mixing = stats.get(MIXING_SECONDS, 0.0)
        seconds["saliency"] = saliency
        seconds["mixing"] = mixing
        seconds["forward_backward"] = max(step - saliency - mixing, 0.0)
        seconds["total"] = sum(seconds[name] for name in PHASES if name in seconds)
        self.batches_seen += 1
        kept = self.samples if self.batches_seen > self.warmup else self.warmup_samples
        for name, value in seconds.items():
            kept[name].append(value)
        return seconds

    def summary(self) -> dict[str, float]:
        """``time_<phase>_median_ms`` and ``time_<phase>_p90_ms`` over the timed batches, their
        number (``timed_batches``), and ``timing_includes_warmup`` = 1 when no batch got past
        the warm-up, so the warm-up batches are all there is to report."""
        samples, result = self.samples, {"timing_includes_warmup": 0.0}
        if not samples.get("total") and self.warmup_samples.get("total"):
            samples, result = self.warmup_samples, {"timing_includes_warmup": 1.0}
        for name, values in samples.items():
            if values:
                result[f"time_{name}_median_ms"] = float(np.median(values) * 1000)
                result[f"time_{name}_p90_ms"] = float(np.percentile(values, 90) * 1000)
        result["timed_batches"] = float(len(samples.get("total", [])))
        return result

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """The samples so far (float64 seconds per phase), for the checkpoint."""
        return {
            kind: {name: torch.tensor(values, dtype=torch.float64) for name, values in kept.items()}
            for kind, kept in (("samples", self.samples), ("warmup_samples", self.warmup_samples))
        }

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        """Continue from ``state``'s samples; this process still leaves out its own warm-up."""
        for kind in ("samples", "warmup_samples"):
            kept = getattr(self, kind)
            kept.clear()
            for name, values in state.get(kind, {}).items():
                kept[name] = values.tolist()
