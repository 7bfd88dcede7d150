"""Google Speech Commands v0.01 (30 words) as normalised 1x160x100 spectrograms.

Data: the v0.01 release (Warden 2017; about 65,000 one-second utterances of 30 words by a few
thousand speakers), the set of the mixup paper's speech experiment (Zhang et al., "mixup: Beyond
Empirical Risk Minimization", ICLR 2018, sec. 3.4) and of the Co-Mixup supplement's. torchaudio's
``SPEECHCOMMANDS`` defaults to the 35-word v0.02, so it is asked for
``url="speech_commands_v0.01"``; it unpacks to ``<data_dir>/SpeechCommands/speech_commands_v0.01/
<word>/<speaker>_nohash_<n>.wav`` with ``validation_list.txt`` and ``testing_list.txt``, and its
``subset="training" | "validation" | "testing"`` gives the official split (training = every
utterance in neither list), which :func:`split_files` applies itself, in the same order. The
``_background_noise_`` folder is not a word and is excluded. ``--data-dir`` is torchaudio's root,
or any folder holding the two split lists and the word folders (the archive unpacks straight into
the folder it is extracted in).

Decoding: ``SPEECHCOMMANDS.__getitem__`` decodes through ``torchaudio.load``, which in torchaudio
2.11 needs the separate ``torchcodec`` package and FFmpeg's shared libraries. torchaudio only
downloads and unpacks the archive here; the WAVs, 16-bit PCM at
16 kHz mono, are read with ``scipy.io.wavfile``: scipy is already a dependency, so the README's
two set-up commands stay sufficient, and no system library is needed.

Features, following the loader of the mixup speech experiment's lineage (``gcommand_loader.py``
of github.com/adiyoss/GCommandsPytorch, whose LeNet/VGG the paper trains; its defaults
``--window_size .02 --window_stride .01 --window_type hamming --normalize True``):

- each utterance zero-padded or cut to one second (16,000 samples at 16 kHz);
- short-time Fourier transform (``torchaudio.transforms.Spectrogram``): 20 ms Hamming window
  (``n_fft = win_length = 320``), 10 ms hop (``hop_length = 160``), centred frames with reflect
  padding (librosa's ``stft`` of that loader), magnitude (``power=1``): 161 frequency bins
  (0 to 8 kHz in 50 Hz steps) x 101 frames;
- ``log(1 + magnitude)`` (the loader's ``np.log1p``);
- kept: the 160 bins below the Nyquist frequency and the first 100 frames (100 frames per
  second), the 160x100 of the Co-Mixup supplement (the mixup paper pads to 160x101);
- normalised per utterance to mean 0 and standard deviation 1 over its 160x100 values (the
  loader's z-score; an all-silent utterance is only centred).

Orientation: height = frequency (160 rows, low frequencies first), width = time (100 columns),
as the loader's ``(1, freq, time)`` tensors; at this size GCommandsPytorch's LeNet and VGG-11
reach their fully-connected layers with exactly their 16,280 and 7,680 features.

Features are computed once per split and cached as ``<split>.pt`` (float16, with the file list
it was made from) under ``<data_dir>/comixup-features/<key>/``, ``key`` a digest of the feature
parameters; a cache whose file list differs from the split's is recomputed. When the data folder
is not writable the cache goes to ``~/.cache/comixup-bench/speech-features/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torchaudio
from torch.utils.data import Dataset

from benchmarks.data.spec import DatasetNotFoundError, DatasetSpec, require_data_dir
from benchmarks.data.speech_features import (  # noqa: F401 (this module's names, as before)
    FEATURES,
    FeatureParams,
    compute_features,
    fix_length,
    read_wav,
    spectrograms,
)

URL = "speech_commands_v0.01"
"""torchaudio's name of the 30-word release (its default is the 35-word v0.02)."""
ARCHIVE_FOLDER = "SpeechCommands"
"""torchaudio's ``folder_in_archive``: the release unpacks to ``<root>/SpeechCommands/<URL>``."""
BACKGROUND = "_background_noise_"
"""Long noise recordings shipped beside the words; not a class."""
CACHE_FOLDER = "comixup-features"
USER_CACHE = Path("~/.cache/comixup-bench/speech-features")


@dataclass(frozen=True)
class SpectrogramSpec(DatasetSpec):
    """A :class:`DatasetSpec` for spectrograms: ``image_size`` is the height (frequency bins),
    ``frames`` the width (time frames); the input is ``(channels, image_size, frames)``."""

    frames: int = 100


SPEC = SpectrogramSpec(
    name="speechcommands",
    num_classes=30,
    image_size=160,
    frames=100,
    channels=1,
    # Each spectrogram is normalised on its own (mean 0, std 1), so the loaders apply nothing
    # more; these values only tell plots and mixers what the inputs are.
    mean=(0.0,),
    std=(1.0,),
)


# ------------------------------------------------------------------------------- the set ----


class SpectrogramDataset(Dataset):
    """Cached spectrograms; items are ``(float32 (1, n_freq, n_frames) tensor, int label)``.

    Attributes mirror torchvision's datasets so ``check_dataset`` treats all alike: ``classes``
    (the words, sorted) and ``targets``; ``files`` holds each item's path relative to the
    dataset folder (``<word>/<speaker>_nohash_<n>.wav``), ``root`` that folder.
    """

    def __init__(
        self,
        features: torch.Tensor,
        targets: list[int],
        classes: list[str],
        files: list[str],
        root: Path,
    ) -> None:
        if features.ndim != 3 or len(features) != len(targets) or len(targets) != len(files):
            raise ValueError(
                f"expected (N, F, T) features, N targets and N files, got "
                f"{tuple(features.shape)}, {len(targets)} and {len(files)}."
            )
        self.features = features
        self.targets = targets
        self.classes = classes
        self.files = files
        self.root = root

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.features[index].float().unsqueeze(0), self.targets[index]


SPLIT_LISTS = ("validation_list.txt", "testing_list.txt")
"""The release's split lists; a folder holding both (and the word folders) is the release."""
SPEAKER_MARK = "_nohash_"
"""Every utterance is ``<word>/<speaker>_nohash_<n>.wav``; other WAVs are not utterances."""


def dataset_folder(data_dir: Path) -> Path:
    """The folder holding the word folders and split lists for ``data_dir``.

    Accepted: torchaudio's root (``<data_dir>/SpeechCommands/speech_commands_v0.01``, what
    ``--download`` makes) or any folder holding both split lists, since the v0.01 archive
    unpacks its word folders and lists straight into the folder it is extracted in
    (``mkdir sc && tar xzf speech_commands_v0.01.tar.gz -C sc``). Otherwise torchaudio's
    layout, which the caller reports as missing.
    """
    torchaudio_layout = data_dir / ARCHIVE_FOLDER / URL
    if torchaudio_layout.is_dir():
        return torchaudio_layout.resolve()
    if all((data_dir / name).is_file() for name in SPLIT_LISTS):
        return data_dir.resolve()
    return torchaudio_layout.resolve()


def split_files(folder: Path, split: str) -> list[str]:
    """The utterances of ``split`` (``train``, ``val`` or ``test``) as ``<word>/<file>.wav``.

    The release's own rule, in the order torchaudio's ``SPEECHCOMMANDS(subset=...)`` lists
    them: validation and test in their list's order, training every other utterance outside
    ``_background_noise_``, sorted. Read here rather than through torchaudio, whose ``root`` /
    ``folder_in_archive`` pair cannot name a folder called anything but ``speech_commands_v0.01``.
    """

    def listed(name: str) -> list[str]:
        lines = (folder / name).read_text().splitlines()
        return [Path(line.strip()).as_posix() for line in lines if line.strip()]

    if split in ("val", "test"):
        return listed(SPLIT_LISTS[0] if split == "val" else SPLIT_LISTS[1])
    held_out = set(listed(SPLIT_LISTS[0])) | set(listed(SPLIT_LISTS[1]))
    utterances = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.glob("*/*.wav")
        if SPEAKER_MARK in path.name and path.parent.name != BACKGROUND
    )
    return [name for name in utterances if name not in held_out]


def download_command(root: Path) -> str:
    return (
        'python -c "import torchaudio; torchaudio.datasets.SPEECHCOMMANDS('
        f'{str(root)!r}, url={URL!r}, download=True)"'
    )


def _not_found(data_dir: Path, what: str) -> DatasetNotFoundError:
    message = f"Speech Commands v0.01 not found: {what}."
    newer = data_dir / ARCHIVE_FOLDER / "speech_commands_v0.02"
    if newer.is_dir():
        message += (
            f" {newer} holds the 35-word v0.02 release; the experiment uses the 30-word v0.01."
        )
    message += (
        f" Pass --download to fetch it (about 1.4 GB) into {data_dir}, or run: "
        f"{download_command(data_dir)}"
    )
    return DatasetNotFoundError(message)


def word_classes(folder: Path) -> list[str]:
    """The word folders (sorted), without ``_background_noise_`` or other ``_``-folders."""
    return sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir() and not child.name.startswith("_") and any(child.glob("*.wav"))
    )


def _cache_file(folder: Path, split: str, params: FeatureParams) -> Path:
    # Beside torchaudio's SpeechCommands folder, else inside the release's own folder (two
    # releases unpacked side by side must not share a cache).
    base = folder.parent.parent if folder.parent.name == ARCHIVE_FOLDER else folder
    if not os.access(base, os.W_OK):
        digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
        base = USER_CACHE.expanduser() / digest
    return base / CACHE_FOLDER / params.key() / f"{split}.pt"


def load_split(
    folder: Path,
    split: str,
    classes: list[str],
    params: FeatureParams = FEATURES,
    *,
    progress: bool = True,
) -> SpectrogramDataset:
    """One split (``train``, ``val`` or ``test``) of the release in ``folder`` from the cache,
    computing it when missing; labels index ``classes`` (the word folder of each file)."""
    files, targets = [], []
    index = {word: i for i, word in enumerate(classes)}
    for name in split_files(folder, split):
        word = name.split("/", 1)[0]
        if word not in index:  # e.g. a stray file listed outside the word folders
            continue
        files.append(name)
        targets.append(index[word])
    cache = _cache_file(folder, split, params)
    if cache.is_file():
        stored = torch.load(cache, weights_only=True)
        if stored["files"] == files:
            return SpectrogramDataset(stored["features"], targets, classes, files, folder)
    features = compute_features(
        [folder / name for name in files], params, progress=progress, description=split
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".tmp{os.getpid()}")
    torch.save(
        {"files": files, "features": features, "params": dataclasses.asdict(params)}, partial
    )
    os.replace(partial, cache)
    return SpectrogramDataset(features, targets, classes, files, folder)


def load_splits(
    data_dir: Path, *, progress: bool | None = None
) -> tuple[SpectrogramDataset, SpectrogramDataset, SpectrogramDataset]:
    """``(train, test, val)`` of the release in ``data_dir`` (see :func:`dataset_folder`);
    ``progress`` (default: when stderr is a terminal) shows a bar while features are computed.

    Raises:
        DatasetNotFoundError: the split lists or the word folders are missing.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    folder = dataset_folder(data_dir)
    missing = [name for name in SPLIT_LISTS if not (folder / name).is_file()]
    if missing:
        raise _not_found(data_dir, f"{folder} lacks {', '.join(missing)}")
    classes = word_classes(folder)
    if not classes:
        raise _not_found(data_dir, f"{folder} has no word folders with WAV files")
    train, test, val = (
        load_split(folder, split, classes, progress=progress) for split in ("train", "test", "val")
    )
    return train, test, val


def build(
    data_dir: str | Path | None, *, download: bool = False
) -> tuple[Dataset, Dataset, Dataset]:
    """Speech Commands v0.01 train, test and validation spectrograms from ``data_dir``.

    With ``download`` torchaudio fetches and unpacks the archive (checksum-verified) first.

    Raises:
        DatasetNotFoundError: the release is not in ``data_dir`` (and ``download`` is off); the
            message has the download command.
    """
    root = require_data_dir(SPEC.name, data_dir)
    if download and not (dataset_folder(root) / "testing_list.txt").is_file():
        root.mkdir(parents=True, exist_ok=True)
        torchaudio.datasets.SPEECHCOMMANDS(root, url=URL, download=True)
    return load_splits(root)
