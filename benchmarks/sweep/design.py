"""The parts a sweep experiment is made of: settings (dataset x model), variants (a grid cell's
``--set`` assignments), the experiment with what it runs at each scale, and one run of it.

The choices (which experiments, which cells, which schedule at which scale) are in
:mod:`benchmarks.sweep.experiments`; this module only says what they are made of.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.configs import TrainConfig
from benchmarks.runner.identity import run_digest

SCALES = ("paper", "reduced", "smoke")
"""``paper``: each dataset's preset (the paper's protocol, GPU-weeks); ``reduced``: the offline
sets trained until every method has stopped improving, sized for two CPU cores (hours), where
the paper's orderings are tested; ``smoke``: the offline sets for a few batches (minutes), a
pipeline check whose numbers say nothing."""


@dataclass(frozen=True)
class Setting:
    dataset: str
    model: str

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.model}"


@dataclass(frozen=True)
class Variant:
    """One grid cell's change to its setting's config (``--set`` assignments) and where its
    result goes in the table. Variants with equal assignments train the same runs."""

    row: str = ""
    column: str = ""
    overrides: tuple[str, ...] = ()


BOXED = Setting("boxed-digits", "preactresnet18")
"""The offline boxed digits with the main job's model: the reduced scale's image setting."""


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    settings: tuple[Setting, ...] = ()
    methods: tuple[str, ...] = ()
    seeds: int = 3
    """Seeds at the paper's scale (``--seeds`` overrides)."""
    variants: Sequence[Variant] = (Variant(),)
    """Applied to every setting and method: the grid's third axis (one empty by default)."""
    kind: str = "train"
    """What one run does: ``train`` (``benchmarks.runner.train.train``) or ``timing`` (every method
    timed side by side in one process, ``benchmarks.runner.timing.time_run``)."""
    runs_of: str = ""
    """The experiment whose runs this one reads, training none of its own (calibration reads
    main's): its runs carry that experiment's name, so their keys are that experiment's."""
    smoke_seeds: int = 2
    smoke_settings: tuple[Setting, ...] = (Setting("builtin", "preactresnet18"),)
    """The settings at ``--scale smoke``: the built-in set, CIFAR-sized models only."""
    smoke: dict[str, Any] | None = None
    """The config changes at ``--scale smoke`` (None: ``experiments.SMOKE``)."""
    reduced_seeds: int = 3
    reduced_settings: tuple[Setting, ...] = (BOXED,)
    reduced: dict[str, Any] | None = None
    """The config changes at ``--scale reduced`` (None: ``experiments.REDUCED``)."""
    reduced_variants: Sequence[Variant] | None = None
    """The grid cells at ``--scale reduced`` where the budget takes fewer (None: ``variants``)."""
    reduced_runs_of: str | None = None
    """``runs_of`` at ``--scale reduced`` (None: ``runs_of``): an experiment whose runs are
    another's with more seeds or cells reads and extends that one's, so shared runs train
    once."""

    def settings_at(self, scale: str) -> tuple[Setting, ...]:
        """The settings the experiment runs at ``scale``."""
        return {"paper": self.settings, "reduced": self.reduced_settings}.get(
            scale, self.smoke_settings
        )

    def seeds_at(self, scale: str) -> int:
        return {"paper": self.seeds, "reduced": self.reduced_seeds}.get(scale, self.smoke_seeds)

    def variants_at(self, scale: str) -> Sequence[Variant]:
        if scale == "reduced" and self.reduced_variants is not None:
            return self.reduced_variants
        return self.variants

    def runs_of_at(self, scale: str) -> str:
        if scale == "reduced" and self.reduced_runs_of is not None:
            return self.reduced_runs_of
        return self.runs_of


class DeferredVariants(Sequence[Variant]):
    """The variants ``make()`` returns, made on first use: Table 7's need ``CoMixupConfig``'s
    defaults, and importing ``comixup`` loads torch, which naming the experiments must not."""

    def __init__(self, make: Callable[[], Sequence[Variant]]) -> None:
        self.made = functools.cache(lambda: tuple(make()))

    def __getitem__(self, index):
        return self.made()[index]

    def __len__(self) -> int:
        return len(self.made())


def one_at_a_time(method: str, defaults: Any, rows: dict[str, tuple[str, tuple]]):
    """Variants that vary one setting of ``method`` at a time around ``defaults`` (its config):
    ``rows`` maps a table row to (config field, values). A value equal to the default is no
    assignment at all, so that every row's default point is the same run."""
    return tuple(
        Variant(row, f"{value:g}", _assign(method, name, value, getattr(defaults, name)))
        for row, (name, values) in rows.items()
        for value in values
    )


def _assign(method: str, name: str, value: Any, default: Any) -> tuple[str, ...]:
    return () if value == default else (f"{method}.{name}={value!r}",)


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its grid cell, seed and the config it trains."""

    experiment: str
    scale: str
    setting: str
    method: str
    seed: int
    config: TrainConfig
    changes: tuple[str, ...] = ()
    """The variant's assignments (shown beside the cell; the digest covers them)."""

    @property
    def cell(self) -> str:
        changes = f" [{', '.join(self.changes)}]" if self.changes else ""
        return f"{self.setting}/{self.method}{changes}"

    @property
    def key(self) -> str:
        """Names the run by what changes its result: the experiment, setting, method, seed and
        a digest of the config's result-changing fields (variants included)."""
        digest = config_digest(self.config)
        place = f"{self.setting}/{self.method}"
        return f"{self.experiment}/{self.scale}/{place}/seed{self.seed}/{digest}"


def config_digest(config: TrainConfig) -> str:
    """The run identity's digest (``benchmarks.runner.identity``), as the sweep key shows it."""
    return run_digest(config)[:10]


FIXED_BY_GRID = ("dataset", "model", "method", "seed")
"""Fields the grid sets; ``--set`` may change any other (and it becomes part of the key)."""


def check_free(variants: Sequence[Variant], overrides: Sequence[str]) -> None:
    """Refuse a ``--set`` of what the grid sets: it would merge the grid's cells."""
    varied = {a.partition("=")[0].strip() for v in variants for a in v.overrides}
    for assignment in overrides:
        key = assignment.partition("=")[0].strip()
        if key in FIXED_BY_GRID or key in varied:
            raise ValueError(
                f"--set {assignment}: the experiment's grid sets {', '.join(FIXED_BY_GRID)}"
                + (f" and {', '.join(sorted(varied))}" if varied else "")
                + "; choose them with the experiment, --scale and --seeds."
            )
