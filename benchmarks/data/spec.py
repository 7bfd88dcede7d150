"""What the runner needs to know about a dataset, and the error for data that is not there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.errors import UserError


@dataclass(frozen=True)
class DatasetSpec:
    """Shape, class count and input normalisation of one dataset.

    ``mean`` and ``std`` are the per-channel values the loaders normalise with; mixers that need
    the raw pixels (e.g. Puzzle Mix's adversarial step) undo it with the same values.
    """

    name: str
    num_classes: int
    image_size: int
    """Side of the square input the model sees (after cropping / resizing)."""
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(
                f"{self.name}: mean and std need one value per channel ({self.channels}), got "
                f"{len(self.mean)} and {len(self.std)}."
            )


class DatasetNotFoundError(UserError, FileNotFoundError):
    """The dataset's files are not where they should be.

    The message names the folder that was looked in and the command that downloads or prepares
    the data (a user error: ``comixup-bench`` prints it as one line).
    """


def require_data_dir(name: str, data_dir: str | Path | None) -> Path:
    """``data_dir`` as an expanded path; a ``ValueError`` if a file-backed dataset got none."""
    if data_dir is None:
        raise ValueError(
            f"dataset {name!r} is read from disk: pass its folder (--data-dir DIR); "
            "only 'builtin' needs no data directory."
        )
    return Path(data_dir).expanduser()
