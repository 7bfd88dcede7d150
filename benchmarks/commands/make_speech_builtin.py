"""Synthesise the offline spoken-words set (espeak-ng) in Speech Commands' layout.

Writes OUT/SpeechCommands/speech_commands_v0.01/<word>/<speaker>_nohash_0.wav with
validation_list.txt and testing_list.txt (10 words x 36 espeak-ng voices); use it with
--dataset speech-builtin --data-dir OUT.

Examples:
    comixup-bench make-speech-builtin --out ~/data/words
    comixup-bench table5 --dataset speech-builtin --data-dir ~/data/words
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "make-speech-builtin", __doc__, run)
    parser.add_argument("--out", required=True, type=Path, help="folder (torchaudio's root)")
    parser.add_argument("--overwrite", action="store_true", help="rebuild an existing set")


def run(args: argparse.Namespace) -> int:
    from benchmarks.data import make_speech_builtin

    folder = make_speech_builtin(args.out, overwrite=args.overwrite)
    print(
        f"the spoken-words set is in {folder}; train on it with "
        f"`comixup-bench train --dataset speech-builtin --data-dir {args.out} --method M`"
    )
    return 0
