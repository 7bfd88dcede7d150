"""The built-in offline spoken-words set: 10 words synthesised with espeak-ng, in the exact
Speech Commands on-disk layout, so the speech path runs through the real loader anywhere.

``make_speech_builtin(root)`` writes ``<root>/SpeechCommands/speech_commands_v0.01/`` (what
torchaudio's ``SPEECHCOMMANDS(root, url="speech_commands_v0.01")`` reads, as the real release):
``<word>/<speaker>_nohash_0.wav`` (16 kHz, mono, 16-bit PCM, one second), ``validation_list.txt``,
``testing_list.txt`` and a ``_background_noise_`` folder (excluded by the loader, as in the real
set). ``--dataset speech-builtin`` builds it on first use in ``--data-dir`` or
``~/.cache/comixup-bench/speech-builtin``; ``comixup-bench make-speech-builtin --out DIR``
builds it explicitly.

- Words: the ten command words of Speech Commands (yes, no, up, down, left, right, on, off,
  stop, go), all in the 30-word v0.01 vocabulary.
- Speakers: 36 voice / speed / pitch combinations of espeak-ng (6 voices x 130, 160, 190 words
  per minute x pitch 35, 65); each speaker's id is 8 hex digits of a digest of its settings,
  as the real set's ids look.
- Each utterance: synthesised at espeak-ng's 22,050 Hz, resampled to 16 kHz
  (``scipy.signal.resample_poly``, 320/441), scaled to a peak drawn in [0.3, 0.9], placed at a
  random offset in a one-second clip (cut if longer) and given white noise at an SNR drawn in
  [10, 30] dB, all drawn from a generator seeded by the file's name, so the set is the same on
  every machine with the same espeak-ng.
- Split by speaker, as the real lists are (no speaker in two splits): of the 36 speakers in
  order, numbers 4, 13, 22, 31 are the validation speakers and 8, 17, 26, 35 the test ones
  (one in nine each, spread over the voices): 280 train, 40 validation and 40 test utterances.

Synthesis takes a few seconds. Without espeak-ng (Debian/Ubuntu: ``apt-get install espeak-ng``)
the set cannot be made and the error says so.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly
from torch.utils.data import Dataset

from benchmarks.data import speech
from benchmarks.data.build_lock import building, replace_whole
from benchmarks.data.spec import DatasetNotFoundError

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f2", "en-gb-x-rp+f4")
SPEEDS = (130, 160, 190)
"""espeak-ng ``-s``: words per minute."""
PITCHES = (35, 65)
"""espeak-ng ``-p``: 0-99, default 50."""
VALIDATION_SPEAKERS = (4, 13, 22, 31)
TEST_SPEAKERS = (8, 17, 26, 35)
PEAK = (0.3, 0.9)
SNR_DB = (10.0, 30.0)
SAMPLE_RATE = speech.FEATURES.sample_rate
ESPEAK_RATE = 22_050
DEFAULT_ROOT = Path("~/.cache/comixup-bench/speech-builtin")
MARKER = "comixup-speech-builtin.json"
"""Written last into the dataset folder; a folder without it is an unfinished build."""

SPEC = speech.SpectrogramSpec(
    name="speech-builtin",
    num_classes=len(WORDS),
    image_size=speech.SPEC.image_size,
    frames=speech.SPEC.frames,
    channels=1,
    mean=(0.0,),
    std=(1.0,),
)


def speakers() -> list[tuple[str, tuple[str, int, int]]]:
    """``(speaker id, (voice, speed, pitch))`` of every speaker, in the fixed order."""
    result = []
    for voice, speed, pitch in itertools.product(VOICES, SPEEDS, PITCHES):
        digest = hashlib.sha1(f"{voice}/{speed}/{pitch}".encode()).hexdigest()[:8]
        result.append((digest, (voice, speed, pitch)))
    return result


def espeak() -> str:
    """The espeak-ng executable.

    Raises:
        DatasetNotFoundError: espeak-ng is not installed (the message says how to install it).
    """
    found = shutil.which("espeak-ng")
    if found is None:
        raise DatasetNotFoundError(
            "the built-in spoken-words set is synthesised with espeak-ng, which is not "
            "installed: run `apt-get install espeak-ng` (Debian/Ubuntu; `brew install espeak-ng` "
            "on macOS) and retry, or pass --data-dir pointing at a set made elsewhere with "
            "`comixup-bench make-speech-builtin --out DIR`."
        )
    return found


def synthesise(word: str, voice: str, speed: int, pitch: int, folder: Path) -> np.ndarray:
    """One word spoken by espeak-ng, as float samples at 16 kHz."""
    path = folder / "word.wav"
    subprocess.run(
        [espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word],
        check=True,
        capture_output=True,
    )
    rate, data = wavfile.read(path)
    samples = data.astype(np.float64) / 32768.0
    if rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz audio, expected {ESPEAK_RATE} Hz.")
    return resample_poly(samples, SAMPLE_RATE // 50, ESPEAK_RATE // 50)


def clip(samples: np.ndarray, name: str) -> np.ndarray:
    """A one-second 16-bit clip of ``samples`` at a random offset, peak and noise level drawn
    from a generator seeded by ``name``."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "little"))
    samples = samples[:SAMPLE_RATE]
    samples = samples * (rng.uniform(*PEAK) / max(np.abs(samples).max(), 1e-9))
    out = np.zeros(SAMPLE_RATE)
    offset = int(rng.integers(0, SAMPLE_RATE - len(samples) + 1))
    out[offset : offset + len(samples)] = samples
    power = np.mean(samples**2)
    snr = rng.uniform(*SNR_DB)
    out += rng.normal(0.0, np.sqrt(power / 10 ** (snr / 10)), SAMPLE_RATE)
    return np.clip(np.round(out * 32767), -32768, 32767).astype(np.int16)


def _write(folder: Path) -> None:
    """Synthesise every word of every speaker into ``folder`` in the release's layout."""
    validation, testing = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for number, (speaker_id, (voice, speed, pitch)) in enumerate(speakers()):
            for word in WORDS:
                relative = f"{word}/{speaker_id}_nohash_0.wav"
                samples = synthesise(word, voice, speed, pitch, Path(scratch))
                (folder / word).mkdir(parents=True, exist_ok=True)
                wavfile.write(folder / relative, SAMPLE_RATE, clip(samples, relative))
                if number in VALIDATION_SPEAKERS:
                    validation.append(relative)
                elif number in TEST_SPEAKERS:
                    testing.append(relative)
    (folder / "validation_list.txt").write_text("\n".join(validation) + "\n")
    (folder / "testing_list.txt").write_text("\n".join(testing) + "\n")
    noise = folder / speech.BACKGROUND
    noise.mkdir()
    rng = np.random.default_rng(0)
    white = np.round(rng.normal(0.0, 0.1, 2 * SAMPLE_RATE) * 32767).astype(np.int16)
    wavfile.write(noise / "white_noise.wav", SAMPLE_RATE, white)
    settings = {
        "words": WORDS,
        "voices": VOICES,
        "speeds": SPEEDS,
        "pitches": PITCHES,
        "validation_speakers": VALIDATION_SPEAKERS,
        "test_speakers": TEST_SPEAKERS,
        "espeak-ng": subprocess.run(
            [espeak(), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    (folder / MARKER).write_text(json.dumps(settings, indent=2) + "\n")


def make_speech_builtin(root: str | Path, *, overwrite: bool = False) -> Path:
    """Build the set under ``root`` (torchaudio's root); returns the dataset folder.

    The files are written into a temporary folder next to the destination and moved into place
    when complete, so an interrupted build leaves nothing half-made. An existing complete set is
    kept unless ``overwrite``.

    Raises:
        DatasetNotFoundError: espeak-ng is not installed.
    """
    root = Path(root).expanduser()
    folder = root / speech.ARCHIVE_FOLDER / speech.URL
    if (folder / MARKER).is_file() and not overwrite:
        return folder
    espeak()  # fail before creating anything
    with building(folder):
        if (folder / MARKER).is_file() and not overwrite:
            return folder  # another process built it while this one waited
        replace_whole(folder, _write)
    return folder


def build(
    data_dir: str | Path | None = None, *, download: bool = False
) -> tuple[Dataset, Dataset, Dataset]:
    """Train, test and validation spectrograms of the set in ``data_dir`` (default
    ``~/.cache/comixup-bench/speech-builtin``), synthesised there first when missing.

    ``download`` is ignored: the set is made locally.

    Raises:
        DatasetNotFoundError: the set is missing and espeak-ng is not installed.
    """
    del download
    root = Path(data_dir if data_dir is not None else DEFAULT_ROOT).expanduser()
    folder = speech.dataset_folder(root)
    if not (folder / "testing_list.txt").is_file():
        make_speech_builtin(root)
    return speech.load_splits(root)
