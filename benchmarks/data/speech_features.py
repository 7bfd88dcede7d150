"""The spectrogram recipe of the Speech Commands set (see ``benchmarks.data.speech``): waves
read at 16 kHz, cut or padded to one second, and their normalised log-magnitude spectrograms."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio
from scipy.io import wavfile
from tqdm.auto import tqdm


@dataclass(frozen=True)
class FeatureParams:
    """The spectrogram recipe (``benchmarks.data.speech``'s docstring); its digest keys the feature
    cache."""

    sample_rate: int = 16_000
    """Speech Commands' rate; other rates are refused rather than resampled."""
    n_fft: int = 320
    """20 ms window at 16 kHz (GCommandsPytorch ``--window_size .02``): 161 bins."""
    hop_length: int = 160
    """10 ms hop (``--window_stride .01``): 100 frames per second."""
    window: str = "hamming"
    """``--window_type hamming`` (periodic, as librosa's ``get_window``)."""
    n_freq: int = 160
    """Bins kept: all but the Nyquist bin."""
    n_frames: int = 100
    """Frames kept: one second."""
    version: int = 1
    """Bumped when the computation changes, so that old caches are not reused."""

    @property
    def samples(self) -> int:
        """Samples per utterance after padding or cutting: one second."""
        return self.sample_rate

    def key(self) -> str:
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


FEATURES = FeatureParams()


# ------------------------------------------------------------------------------ features ----


def read_wav(path: str | Path, sample_rate: int = FEATURES.sample_rate) -> torch.Tensor:
    """A mono WAV as float32 samples in [-1, 1): 16-bit PCM (Speech Commands), also 32-bit PCM,
    8-bit and float WAVs.

    Raises:
        ValueError: the file is not mono or not at ``sample_rate``.
    """
    rate, data = wavfile.read(path)
    if rate != sample_rate:
        raise ValueError(f"{path} is sampled at {rate} Hz, expected {sample_rate} Hz.")
    if data.ndim != 1:
        raise ValueError(f"{path} has {data.shape[1]} channels, expected mono.")
    if data.dtype == np.int16:
        samples = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        samples = data.astype(np.float32) / 2147483648.0
    elif data.dtype == np.uint8:
        samples = (data.astype(np.float32) - 128.0) / 128.0
    else:
        samples = data.astype(np.float32)
    return torch.from_numpy(samples)


def fix_length(waveform: torch.Tensor, samples: int) -> torch.Tensor:
    """Zero-pad (at the end) or cut a (samples,) waveform to ``samples``."""
    if waveform.shape[-1] >= samples:
        return waveform[..., :samples]
    return torch.nn.functional.pad(waveform, (0, samples - waveform.shape[-1]))


def spectrograms(waveforms: torch.Tensor, params: FeatureParams = FEATURES) -> torch.Tensor:
    """Normalised log spectrograms (N, n_freq, n_frames) of one-second waveforms (N, samples)."""
    if waveforms.ndim != 2 or waveforms.shape[1] != params.samples:
        raise ValueError(
            f"expected waveforms of shape (N, {params.samples}), got {tuple(waveforms.shape)}; "
            "pad or cut them with fix_length first."
        )
    windows = {"hamming": torch.hamming_window, "hann": torch.hann_window}
    transform = torchaudio.transforms.Spectrogram(
        n_fft=params.n_fft,
        win_length=params.n_fft,
        hop_length=params.hop_length,
        window_fn=windows[params.window],
        power=1.0,
        center=True,
        pad_mode="reflect",
    )
    magnitude = transform(waveforms)[:, : params.n_freq, : params.n_frames]
    spec = torch.log1p(magnitude)
    mean = spec.mean(dim=(1, 2), keepdim=True)
    std = spec.std(dim=(1, 2), keepdim=True)
    return torch.where(std > 0, (spec - mean) / std.clamp_min(1e-12), spec - mean)


def compute_features(
    paths: list[Path],
    params: FeatureParams = FEATURES,
    *,
    chunk: int = 1024,
    progress: bool = True,
    description: str = "",
) -> torch.Tensor:
    """Spectrograms (N, n_freq, n_frames) in float16 of the WAV files ``paths``."""
    features = torch.empty(len(paths), params.n_freq, params.n_frames, dtype=torch.float16)
    label = f"{description} spectrograms".strip()
    bar = tqdm(total=len(paths), desc=label, unit="file", disable=not progress)
    for start in range(0, len(paths), chunk):
        batch = [
            fix_length(read_wav(path, params.sample_rate), params.samples)
            for path in paths[start : start + chunk]
        ]
        features[start : start + len(batch)] = spectrograms(torch.stack(batch), params).half()
        bar.update(len(batch))
    bar.close()
    return features
