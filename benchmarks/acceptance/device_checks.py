"""The plumbing checks of an acceptance run: the process-group backend the runner uses under
torchrun (NCCL on CUDA, gloo on the CPU) and the pinned-memory loaders it uses on CUDA."""

from __future__ import annotations

import datetime
import socket

import torch
import torch.distributed as dist

from benchmarks.data import build_splits, make_loaders

Verdict = tuple[str, str, dict]


def runner_backend(device: torch.device) -> str:
    """The backend ``benchmarks.runner.distributed.init_distributed`` joins on ``device``."""
    return "nccl" if device.type == "cuda" else "gloo"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_process_group(device: torch.device) -> Verdict:
    """A one-process group of the runner's backend: an all-reduce and an all-gather of
    objects (how ``predictions.gather`` joins the ranks' shares) on ``device``'s tensors. A
    single GPU cannot hold two NCCL ranks, and the runner joins no group for a world of one,
    so this is the NCCL that one GPU can try."""
    backend = runner_backend(device)
    figures = {"backend": backend, "world size": 1}
    if dist.is_initialized():
        return "fail", "a process group is already open in this process", figures
    dist.init_process_group(
        backend,
        init_method=f"tcp://127.0.0.1:{_free_port()}",
        rank=0,
        world_size=1,
        timeout=datetime.timedelta(seconds=60),  # a hung NCCL fails the check, not the run
    )
    try:
        tensor = torch.arange(4, dtype=torch.float32, device=device)
        dist.all_reduce(tensor)
        gathered: list = [None]
        dist.all_gather_object(gathered, {"rank": 0})
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            version = torch.cuda.nccl.version()
            figures["NCCL version"] = (
                ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
            )
    finally:
        dist.destroy_process_group()
    if tensor.tolist() != [0.0, 1.0, 2.0, 3.0] or gathered != [{"rank": 0}]:
        return "fail", f"all_reduce gave {tensor.tolist()}, all_gather {gathered}", figures
    return "pass", f"{backend}: all_reduce and all_gather_object on {device.type}", figures


def check_pinned_memory(device: torch.device) -> Verdict:
    """On CUDA the runner's loaders pin their batches (``make_loaders``), with and without
    worker processes, and a pinned batch copies to the GPU asynchronously intact."""
    train_set, test_set = build_splits("builtin", None)[:2]
    figures: dict = {}
    for workers in (0, 2):
        loader = make_loaders(train_set, test_set, batch_size=8, seed=0, workers=workers)[0]
        x, _ = next(iter(loader))
        figures[f"pinned with {workers} workers"] = bool(x.is_pinned())
        if not x.is_pinned():
            return "fail", f"a batch of the loader with {workers} workers is not pinned", figures
        on_device = x.to(device, non_blocking=True)
        torch.cuda.synchronize(device)
        if not torch.equal(on_device.cpu(), x):
            return "fail", "a pinned batch changed on its way to the GPU", figures
    return "pass", "batches pinned (0 and 2 workers) and copied intact", figures
