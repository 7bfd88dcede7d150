"""Early stopping on a monitored accuracy, and the test error at its best epoch.

The runner monitors the validation split where the dataset has one (Speech Commands), else the
test set. ``test_error_at_best`` keeps the test error of the epoch with the best monitored
accuracy: with a validation split that is the number a paper reports. Its ``state_dict`` goes
into the checkpoint, so a resumed run stops exactly when an uninterrupted one would.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Stops after ``patience`` epochs without a strictly better accuracy (None: never)."""

    patience: int | None = None
    best_accuracy: float = -math.inf
    stale_epochs: int = 0
    test_error_at_best: float = math.nan
    stopped: bool = False

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ValueError(
                f"patience must be at least 1 epoch, got {self.patience}; use None to never stop."
            )

    def update(self, accuracy: float, *, test_error: float) -> bool:
        """Record one epoch's monitored ``accuracy`` (%) and test top-1 error (%); returns
        whether training should stop now."""
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.stale_epochs = accuracy, 0
            self.test_error_at_best = test_error
        else:
            self.stale_epochs += 1
        self.stopped = self.patience is not None and self.stale_epochs >= self.patience
        return self.stopped

    @property
    def best_error(self) -> float:
        """The best monitored top-1 error (%)."""
        return 100 - self.best_accuracy

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown early-stopping state {key!r}; is this checkpoint ours?")
            setattr(self, key, value)
