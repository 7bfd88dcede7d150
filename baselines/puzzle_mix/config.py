"""Puzzle Mix hyperparameters, with the official defaults and their sources."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.pairs import check_alpha
from baselines.pixels import check_normalisation
from comixup.validation import check_fields, flag, in_range, integer, non_negative


@dataclass(frozen=True)
class PuzzleMixConfig:
    """Puzzle Mix hyperparameters; defaults are the official CIFAR-100 setting.

    Sources: the official ``main.py`` argument defaults and the README's CIFAR-100 command
    ``--mixup_alpha 1.0 --graph True --n_labels 3 --eta 0.2 --beta 1.2 --gamma 0.5
    --neigh_size 4 --transport True --t_size 4 --t_eps 0.8`` (no ``--clean_lam``, no
    ``--adv_p``). The Tiny-ImageNet command differs in ``t_size`` (left at -1) and
    ``--clean_lam 1``: ``benchmarks.methods.DATASET_DEFAULTS`` applies it per dataset.
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
    clean_lam: float = 0.0
    """Clean-input regularisation: the clean loss is scaled ``2 * clean_lam / num_classes``
    (``main.py``). 0 (``main.py``'s default; the saliency pass then runs in eval mode and adds
    no loss) as in the README's CIFAR-100 commands; its Tiny-ImageNet commands pass 1."""
    adv_p: float = 0.0
    """Probability, drawn twice per batch (once for the inputs, once for their partners), that
    that side of the mix gets adversarial noise (``main.py --adv_p``, default 0, which the
    README's Puzzle Mix commands keep; its "adversarial Puzzle Mix" commands use 0.1 on
    CIFAR-100 and 0.15 on Tiny-ImageNet). See ``baselines/puzzle_mix/adversarial.py``."""
    adv_eps: float = 10.0
    """l-inf radius of the adversarial noise in 8-bit pixel steps, i.e. ``adv_eps / 255`` on
    pixel values in [0, 1] (``main.py --adv_eps`` default 10.0)."""
    per_sample_lambda: bool = False
    """One lambda per pair instead of the official one per batch."""
    data_mean: tuple[float, ...] | None = None
    """Per-channel mean that normalised the inputs; with ``data_std`` it is undone for the data
    smoothness term and the adversarial noise, which the official code computes on
    ``x * std + mean`` (pixels in [0, 1]). None: the inputs are already in pixel scale. The
    runner always passes the dataset's (``get_method(..., normalization=...)``)."""
    data_std: tuple[float, ...] | None = None
    """Per-channel standard deviation that normalised the inputs (see ``data_mean``)."""

    labeling_backend: str = "compiled"
    """Alpha-beta swap of the mask: ``"compiled"`` (numba, GCO's moves and labels) or
    ``"gco"`` (pyGCO, the reference); see ``comixup.labeling``."""

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if self.labeling_backend not in ("compiled", "gco"):
            raise ValueError(
                f"labeling_backend must be 'compiled' or 'gco', got {self.labeling_backend!r}."
            )
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
        if in_range(self.adv_p, 0, 1):
            raise ValueError(f"adv_p is a probability in [0, 1], got {self.adv_p}.")
        if non_negative(self.adv_eps):
            raise ValueError(
                f"adv_eps is a radius in 8-bit pixel steps (>= 0, finite), got {self.adv_eps}."
            )
        check_normalisation(self.data_mean, self.data_std)
