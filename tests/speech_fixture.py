"""A tiny Speech Commands release in the real on-disk layout, made of tones (no espeak-ng).

``write_speech_commands(root, words)`` writes ``<root>/SpeechCommands/speech_commands_v0.01/``
with ``<word>/<speaker>_nohash_<n>.wav`` (16 kHz, mono, 16-bit PCM), ``validation_list.txt``,
``testing_list.txt`` and a ``_background_noise_`` folder, as torchaudio's ``SPEECHCOMMANDS``
reads it. Word i is a tone at ``200 + 150 i`` Hz, so a tiny net can learn the words; each
speaker shifts the tone's onset and length (some clips are shorter than a second, one longer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import wavfile

RATE = 16_000
V001_WORDS = (
    "bed", "bird", "cat", "dog", "down", "eight", "five", "four", "go", "happy",
    "house", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
    "sheila", "six", "stop", "three", "tree", "two", "up", "wow", "yes", "zero",
)  # fmt: skip
"""The 30 words of Speech Commands v0.01."""
SPEAKERS = {
    "train": ("0a1b2c3d", "1f2e3d4c", "2b3c4d5e"),
    "val": ("3c4d5e6f",),
    "test": ("4d5e6f70",),
}


def tone(word_index: int, speaker_index: int, rng: np.random.Generator) -> np.ndarray:
    length = RATE - 2000 * speaker_index + (3000 if speaker_index == 4 else 0)
    t = np.arange(length) / RATE
    onset = 0.05 * speaker_index
    signal = 0.5 * np.sin(2 * np.pi * (200 + 150 * word_index) * t) * (t > onset)
    signal += 0.01 * rng.standard_normal(length)
    return np.round(signal * 32767).astype(np.int16)


def write_speech_commands(root: Path, words: tuple[str, ...] | list[str] = V001_WORDS) -> Path:
    """The release under ``root`` (torchaudio's root); returns the dataset folder."""
    folder = root / "SpeechCommands" / "speech_commands_v0.01"
    rng = np.random.default_rng(0)
    lists: dict[str, list[str]] = {"val": [], "test": []}
    speakers = [(split, speaker) for split, ids in SPEAKERS.items() for speaker in ids]
    for w, word in enumerate(words):
        (folder / word).mkdir(parents=True, exist_ok=True)
        for s, (split, speaker) in enumerate(speakers):
            relative = f"{word}/{speaker}_nohash_0.wav"
            wavfile.write(folder / relative, RATE, tone(w, s, rng))
            if split in lists:
                lists[split].append(relative)
    (folder / "validation_list.txt").write_text("\n".join(lists["val"]) + "\n")
    (folder / "testing_list.txt").write_text("\n".join(lists["test"]) + "\n")
    noise = folder / "_background_noise_"
    noise.mkdir()
    noise_samples = np.round(0.1 * rng.standard_normal(3 * RATE) * 32767).astype(np.int16)
    wavfile.write(noise / "white_noise.wav", RATE, noise_samples)
    return folder
