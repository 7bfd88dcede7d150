"""Co-Mixup hyperparameters.

Defaults follow the supplement of Kim et al., "Co-Mixup: Saliency Guided Joint Mixup with
Supermodular Diversity" (ICLR 2021), section 5, and the argument defaults of the official
``main.py`` (snu-mllab/Co-Mixup), whose names are given beside each field.
"""

from __future__ import annotations

from dataclasses import dataclass

from comixup.validation import check_fields, flag, in_range, integer, non_negative, positive


@dataclass(frozen=True)
class CoMixupConfig:
    """Hyperparameters of the Co-Mixup objective and of Algorithm 1.

    The objective's coefficients are given per block, as in the paper; the solver rescales them
    by the number of grid blocks ``n`` exactly as the official code does
    (``beta / n``, ``gamma / n``, ``eta / n``, ``tau * n``).
    """

    beta: float = 0.32
    """Label smoothness coefficient (paper beta; official ``m_beta`` 0.32)."""
    gamma: float = 1.0
    """Compatibility / diversity coefficient (paper gamma; official ``m_gamma`` 1.0)."""
    eta: float = 0.05
    """Weight of the Dirichlet label prior (paper eta; official ``m_eta`` 0.05)."""
    tau: float = 0.83
    """Hard threshold of the compatibility penalty (paper tau; official ``m_thres`` 0.83)."""
    omega: float = 0.001
    """Weight of the salient-distance matrix in A (paper omega; official ``m_omega`` 0.001)."""
    alpha: float = 2.0
    """Concentration of the Dirichlet label prior (official ``mixup_alpha`` 2.0)."""
    partition_size: int = 20
    """Inputs per partition m (supplement sec. 5; official ``m_part`` 20)."""
    grid_size: int = 4
    """Labeling grid is grid_size x grid_size blocks (official ``m_block_num`` 4)."""
    n_levels: int = 3
    """Number of mixing-ratio levels |L| (paper: |L| = 3, i.e. ratios 0, 1/2, 1)."""
    n_iter: int = 4
    """Outer iterations of Algorithm 1 (official ``m_niter`` 4)."""
    resolve: bool = True
    """Penalise identical outputs in the last iteration (official ``set_resolve`` True)."""
    clean_lam: float = 1.0
    """Weight of the clean-input loss used for saliency (official ``clean_lam`` 1.0)."""
    mix_candidates: int = 3
    """Inputs of an output that its soft states may mix: the official ``graphcut_wrapper``
    extends each output with pairs among its 3 most frequently assigned inputs."""
    restarts: int = 1
    """Independent random initialisations per partition; the best result by the objective is
    kept (1 = the paper's single random initialisation)."""
    keep_best: bool = False
    """Return the best labeling seen by the clipped objective instead of the last pass's.
    False is Algorithm 1 as published and as the official ``get_onehot_matrix`` returns it
    (whose resolve pass may raise f to separate identical outputs); True is the "best iterate"
    variant reported beside it in Tables 2 and 3 (not in the paper)."""

    capped_start: bool = False
    """Also start from one labeling shared by all outputs whose input counts stay under the
    compatibility threshold (see ``solver._PartitionSolver.capped_start``); not in the paper.
    It closes most of the gap to brute force on un-normalised costs (Table 2) at the price of
    one more solver run per partition."""

    labeling_backend: str = "compiled"
    """Alpha-beta swap implementation: ``"compiled"`` (numba; the same moves and labels as
    GCO, faster) or ``"gco"`` (pyGCO, the reference); see ``comixup.labeling``."""
    solver_threads: int | None = None
    """Threads that solve a batch's partitions in parallel (None: the cores available to the
    process). Results do not depend on it."""

    def __post_init__(self) -> None:
        if self.labeling_backend not in ("compiled", "gco"):
            raise ValueError(
                f"CoMixupConfig: labeling_backend={self.labeling_backend!r}; "
                "choose 'compiled' or 'gco'."
            )
        if self.solver_threads is not None and integer(self.solver_threads, 1):
            raise ValueError(
                f"CoMixupConfig: solver_threads={self.solver_threads!r}; pass a count >= 1, "
                "or None for all available cores."
            )
        check_fields(
            self,
            {
                "beta": non_negative(self.beta),
                "gamma": non_negative(self.gamma),
                "eta": non_negative(self.eta),
                "tau": non_negative(self.tau),
                "omega": in_range(self.omega, 0, 1),
                "alpha": positive(self.alpha),
                "partition_size": integer(self.partition_size, 1),
                "grid_size": integer(self.grid_size, 1),
                "n_levels": integer(self.n_levels, 2),
                "n_iter": integer(self.n_iter, 1),
                "resolve": flag(self.resolve),
                "clean_lam": non_negative(self.clean_lam),
                "mix_candidates": integer(self.mix_candidates, 2),
                "restarts": integer(self.restarts, 1),
                "capped_start": flag(self.capped_start),
            },
        )
