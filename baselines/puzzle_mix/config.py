"""Puzzle Mix hyperparameters, with the official defaults and their sources."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.pairs import check_alpha
from comixup.validation import check_fields, flag, integer, non_negative, positive


@dataclass(frozen=True)
class PuzzleMixConfig:
    """Puzzle Mix hyperparameters; defaults are the official CIFAR-100 setting.

    Sources: the official ``main.py`` argument defaults and the README's CIFAR-100 command
    ``--mixup_alpha 1.0 --graph True --n_labels 3 --eta 0.2 --beta 1.2 --gamma 0.5
    --neigh_size 4 --transport True --t_size 4 --t_eps 0.8``.
    """

    alpha: float = 1.0
    """Beta(alpha, alpha) for lambda: ``--mixup_alpha 1.0`` in the README's CIFAR-100 and
    Tiny-ImageNet commands (``main.py`` has no default)."""
    beta: float = 1.2
    """Label smoothness (``main.py --beta`` default 1.2), used as ``beta / block_num / 16``."""
    gamma: float = 0.5
    """Data local smoothness (``main.py --gamma`` default 0.5), relative to beta."""
    eta: float = 0.2
    """Weight of the lambda prior (``main.py --eta`` default 0.2), used as ``eta / n_blocks``."""
    neigh_size: int = 4
    """Pooling window (pixels) of the data smoothness (``main.py --neigh_size`` default 4),
    capped at the block size as in ``mixup_graph``."""
    n_labels: int = 3
    """Mixing levels per block |L| (``main.py --n_labels`` default 3: weights 1, 1/2, 0)."""
    transport: bool = True
    """Move salient blocks into the region the mask shows (``main.py --transport`` default)."""
    t_eps: float = 0.8
    """Weight of the distance in the transport cost (``main.py --t_eps`` default 0.8)."""
    t_size: int | None = 4
    """Transport block size in pixels, capped at the graph-cut block size: 4 in the README's
    CIFAR-100 (32x32) commands. None (or -1, ``main.py``'s default, used in the README's
    Tiny-ImageNet commands) transports at the graph cut's own resolution."""
    block_nums: tuple[int, ...] = (2, 4, 8, 16)
    """Grid sides drawn uniformly once per batch: the official ``mixup_process`` draws
    ``2 ** np.random.randint(1, 5)``, i.e. 2, 4, 8 or 16 (there is no argument for it). A side
    of 1 leaves the batch unmixed, as the official ``block_num == 1`` branch does."""
    clean_lam: float = 1.0
    """Clean-input regularisation: the clean loss is scaled ``2 * clean_lam / num_classes``
    (``main.py``). 1.0 as in the README's Tiny-ImageNet commands and the Co-Mixup comparison;
    ``main.py``'s default and the README's CIFAR-100 commands leave it at 0."""
    adv_p: float = 0.0
    """Probability of adversarial noise per input (``main.py --adv_p`` default 0; the README's
    "adversarial Puzzle Mix" uses 0.1 on CIFAR-100 and 0.15 on Tiny-ImageNet). Not implemented:
    only 0 is accepted."""
    per_sample_lambda: bool = False
    """One lambda per pair instead of the official one per batch."""
    data_mean: tuple[float, ...] | None = None
    """Per-channel mean that normalised the inputs; with ``data_std`` it is undone for the data
    smoothness term, which the official code computes on ``x * std + mean`` (pixels in [0, 1]).
    None: the inputs are already in pixel scale."""
    data_std: tuple[float, ...] | None = None
    """Per-channel standard deviation that normalised the inputs (see ``data_mean``)."""

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        names = ("beta", "gamma", "eta", "t_eps", "clean_lam")
        rules = {name: non_negative(getattr(self, name)) for name in names}
        flags = ("transport", "per_sample_lambda")
        check_fields(self, rules | {name: flag(getattr(self, name)) for name in flags})
        if integer(self.n_labels, 2):
            raise ValueError(
                f"n_labels must be at least 2 (input or partner), got {self.n_labels}."
            )
        if integer(self.neigh_size, 1):
            raise ValueError(f"neigh_size must be a positive pixel count, got {self.neigh_size}.")
        if self.t_size is not None and self.t_size != -1 and integer(self.t_size, 1):
            raise ValueError(
                f"t_size must be a positive pixel count, or None / -1 for the graph cut's "
                f"resolution; got {self.t_size}."
            )
        if not self.block_nums or any(integer(n, 1) for n in self.block_nums):
            raise ValueError(
                f"block_nums must be a non-empty tuple of positive grid sides, got "
                f"{self.block_nums}."
            )
        if self.adv_p != 0:
            raise ValueError(
                f"adversarial Puzzle Mix (adv_p = {self.adv_p}) is not implemented; use adv_p=0."
            )
        if (self.data_mean is None) != (self.data_std is None):
            raise ValueError("give data_mean and data_std together, or neither.")
        if self.data_std is not None and any(positive(s) for s in self.data_std):
            raise ValueError(f"data_std must be positive, got {self.data_std}.")
