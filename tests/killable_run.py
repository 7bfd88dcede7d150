"""A training run for the kill tests, started as a subprocess: it reports how far it got on
stdout and can SIGKILL itself between an epoch's MLflow records and its checkpoint.

    python tests/killable_run.py CHECKPOINT_ROOT '["epochs=3", ...]' [--die-before-checkpoint E]
        [--pause-before-checkpoint SECONDS]

The config is the built-in preset with the given overrides. Lines printed: ``batch E B`` after
each training batch, ``checkpoint E`` once epoch E is evaluated and logged and before its
checkpoint is written (then the optional pause: a window for a test's kill), ``saved E`` after,
``done RUN_ID`` at the end. SIGTERM and SIGINT exit with 143 and 130, as ``comixup-bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from benchmarks.configs import apply_overrides, preset
from benchmarks.runner import interrupts
from benchmarks.runner import train as runner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("overrides", type=json.loads)
    parser.add_argument("--die-before-checkpoint", type=int)
    parser.add_argument("--pause-before-checkpoint", type=float, default=0.0)
    args = parser.parse_args()
    save = runner.save_atomic

    def save_slowly(state, path) -> None:
        epoch = state.epoch - 1
        print(f"checkpoint {epoch}", flush=True)
        if epoch == args.die_before_checkpoint:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(args.pause_before_checkpoint)
        save(state, path)
        print(f"saved {epoch}", flush=True)

    def report(epoch: int, batch: int) -> None:
        print(f"batch {epoch} {batch}", flush=True)

    runner.save_atomic = save_slowly
    config = apply_overrides(preset("builtin"), args.overrides)
    try:
        result = runner.train(config, checkpoint_root=args.root, progress=False, batch_hook=report)
    except KeyboardInterrupt as interrupt:  # SIGTERM or SIGINT: exit as the command line does
        raise SystemExit(interrupts.exit_status(interrupt)) from None
    print(f"done {result.run_id}", flush=True)


if __name__ == "__main__":
    main()
