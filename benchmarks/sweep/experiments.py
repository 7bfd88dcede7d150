"""The paper's experiments as grids of runs, at the paper's scale or as a CPU smoke test.

An :class:`Experiment` is settings (dataset x model) x methods x variants x seeds; a
:class:`Variant` is a set of ``--set`` assignments with the table row and column it fills.
``expand`` turns it into :class:`Run` s, each a full :class:`TrainConfig` and a key that names
what changes its result; variants whose configs are equal share one run (Table 7's default
point is one run per seed, read by all five rows). ``--scale paper`` takes each dataset's preset
(the paper's protocol); ``--scale smoke`` swaps every setting for a built-in set and a narrow,
short schedule, all of it in :data:`SMOKE` and the experiments' ``smoke`` and ``smoke_seeds``
below (the one place the reduction is written down), so that each table can be made end to end
on a laptop in minutes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.configs import TrainConfig, apply_overrides, preset
from benchmarks.configs.base import Phase
from benchmarks.runner.identity import run_digest

SCALES = ("paper", "smoke")

MAIN_METHODS = ("vanilla", "input_mixup", "manifold_mixup", "cutmix", "puzzle_mix", "comixup")
"""The main table's columns (the paper's Table 1 order)."""

ALL_METHODS = (*MAIN_METHODS, "vat")
"""Every method of the README's main job (``comixup-bench compare``)."""

SMOKE = {
    "epochs": 3,
    "batch_size": 32,
    "limit_batches": 4,
    "width": 8,
    "warmup_batches": 1,
    "milestones": (2,),
}
"""``--scale smoke``: every setting becomes the built-in digits set with the setting's model at
width 8, 3 epochs of 4 batches of 32 (learning rate down 10x for the last), evaluated on the
whole test split; seeds as the experiment's ``smoke_seeds``. Minutes on two CPU cores for a
whole experiment; the numbers check the pipeline, not the methods. An experiment's ``smoke``
replaces this reduction where it does not fit (speech: :data:`SPEECH_SMOKE`, which keeps the
speech protocol)."""

SPEECH_SMOKE = {"epochs": 4, "limit_batches": 4, "width": 8, "warmup_batches": 1, "patience": 2}
"""``--scale smoke`` of the speech experiment: the offline spoken-words preset (Adam, constant
learning rate, batches of 10, early stopping on the validation accuracy) at width 8, for 4
epochs of 4 batches with a patience of 2, so that early stopping can act; one seed."""


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


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    settings: tuple[Setting, ...] = ()
    methods: tuple[str, ...] = ()
    seeds: int = 3
    """Seeds at the paper's scale (``--seeds`` overrides)."""
    smoke_seeds: int = 2
    smoke_settings: tuple[Setting, ...] = (Setting("builtin", "preactresnet18"),)
    """The settings at ``--scale smoke``: the built-in set, CIFAR-sized models only."""
    variants: Sequence[Variant] = (Variant(),)
    """Applied to every setting and method: the grid's third axis (one empty by default)."""
    smoke: dict[str, Any] | None = None
    """The config changes at ``--scale smoke`` (None: :data:`SMOKE`)."""
    kind: str = "train"
    """What one run does: ``train`` (``benchmarks.runner.train.train``) or ``timing`` (every method
    timed side by side in one process, ``benchmarks.tables.step_time.time_run``)."""
    runs_of: str = ""
    """The experiment whose runs this one reads, training none of its own (calibration reads
    main's): its runs carry that experiment's name, so their keys are that experiment's."""

    def settings_at(self, scale: str) -> tuple[Setting, ...]:
        """The settings the experiment runs at ``scale``."""
        return self.settings if scale == "paper" else self.smoke_settings


class DeferredVariants(Sequence[Variant]):
    """The variants ``make()`` returns, made on first use: Table 7's need ``CoMixupConfig``'s
    defaults, and importing ``comixup`` loads torch, which naming the experiments must not."""

    def __init__(self, make: Callable[[], Sequence[Variant]]) -> None:
        self.made = functools.cache(lambda: tuple(make()))

    def __getitem__(self, index):
        return self.made()[index]

    def __len__(self) -> int:
        return len(self.made())


def comixup_sensitivity() -> tuple[Variant, ...]:
    from comixup.config import CoMixupConfig

    return one_at_a_time("comixup", CoMixupConfig(), SENSITIVITY_ROWS)


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


SENSITIVITY_ROWS = {
    "beta": ("beta", (0.0, 0.16, 0.32, 0.48, 0.64)),
    "gamma": ("gamma", (0.6, 0.8, 1.0, 1.2, 1.4)),
    "tau": ("tau", (0.79, 0.81, 0.83, 0.85, 0.87)),
    "omega": ("omega", (0.0, 5e-4, 1e-3, 5e-3, 1e-2)),
    "m": ("partition_size", (2, 4, 10, 20, 50)),
}
"""Table 7: each Co-Mixup hyperparameter's row (``CoMixupConfig`` field, values)."""

VAT_ALPHAS = (0.001, 0.01, 0.1)
VAT_COLUMNS = ((0, 1), (0, 2), (1, 1), (1, 2))
"""Table 8: rows are VAT's loss weight alpha, columns (power iterations, l-inf epsilon in 8-bit
pixel steps), in the supplement's order."""


def vat_variants() -> tuple[Variant, ...]:
    return tuple(
        Variant(
            f"{alpha:g}",
            f"{power} update{'s' if power != 1 else ''}, eps {epsilon}",
            (f"vat.alpha={alpha!r}", f"vat.n_power={power}", f"vat.epsilon={epsilon}"),
        )
        for alpha in VAT_ALPHAS
        for power, epsilon in VAT_COLUMNS
    )


BUILT_IN_SETS = (Setting("builtin", "preactresnet18"), Setting("boxed-digits", "preactresnet18"))
"""The offline image sets with the main job's model: the plain digits and the boxed digits."""

EXPERIMENTS: dict[str, Experiment] = {
    "main": Experiment(
        "main",
        "Top-1 error of every method (the main table)",
        settings=(
            Setting("cifar100", "preactresnet18"),
            Setting("cifar100", "wrn16_8"),
            Setting("cifar100", "resnext29_4_24"),
            Setting("tiny-imagenet", "preactresnet18"),
            Setting("imagenet", "resnet50"),
        ),
        methods=MAIN_METHODS,
        seeds=3,
        smoke_seeds=2,
        # The boxed digits stand in for ImageNet's boxed validation set at smoke scale, so
        # `comixup-bench robustness --scale smoke` has runs to evaluate.
        smoke_settings=BUILT_IN_SETS,
    ),
    "significance": Experiment(
        "significance",
        "Paired t-test, Puzzle Mix against Co-Mixup over seeds (Section 6.5)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("puzzle_mix", "comixup"),
        seeds=10,
        smoke_seeds=3,
    ),
    "sensitivity": Experiment(
        "sensitivity",
        "Co-Mixup's hyperparameters one at a time (Table 7)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("comixup",),
        variants=DeferredVariants(comixup_sensitivity),
        seeds=3,
        smoke_seeds=1,
    ),
    "vat": Experiment(
        "vat",
        "VAT settings (Table 8)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("vat",),
        variants=vat_variants(),
        seeds=3,
        smoke_seeds=1,
    ),
    "speech": Experiment(
        "speech",
        "Speech Commands (Table 5)",
        settings=(Setting("speechcommands", "lenet"), Setting("speechcommands", "vgg11")),
        methods=MAIN_METHODS,
        seeds=3,
        smoke_seeds=1,
        smoke_settings=(Setting("speech-builtin", "lenet"), Setting("speech-builtin", "vgg11")),
        smoke=SPEECH_SMOKE,
    ),
    "calibration": Experiment(
        "calibration",
        "Expected calibration error (Table 6)",
        settings=(
            Setting("cifar100", "preactresnet18"),
            Setting("tiny-imagenet", "preactresnet18"),
            Setting("imagenet", "resnet50"),
        ),
        methods=MAIN_METHODS,
        seeds=3,
        smoke_seeds=2,
        runs_of="main",
    ),
    "timing": Experiment(
        "timing",
        "Per-batch time of every method by phase, side by side",
        settings=(Setting("cifar100", "preactresnet18"), Setting("imagenet", "resnet50")),
        methods=("all",),
        seeds=1,
        smoke_seeds=1,
        smoke_settings=(Setting("cifar100", "preactresnet18"), Setting("imagenet", "resnet50")),
        kind="timing",
    ),
    "datasets": Experiment(
        "datasets",
        "Which built-in set separates the methods: the README's main job over seeds",
        settings=BUILT_IN_SETS,
        methods=ALL_METHODS,
        seeds=3,
        smoke_seeds=2,
        smoke_settings=BUILT_IN_SETS,
    ),
}

TIMING = {
    "cifar100": {"batch_size": 100, "limit_batches": 20, "warmup_batches": 5},
    "imagenet": {
        "batch_size": 112,
        "limit_batches": 20,
        "warmup_batches": 5,
        "phases": (Phase(0, 112, 224),),
    },
}
"""A timing run's batch at the paper's scale: CIFAR-100's batch of 100 (official ``main.py``);
ImageNet's 448 of the official 224-px phases split over the paper's 4 GPUs, 112 per GPU, at
224 px; 20 timed batches after 5 warm-up ones. The images are random tensors of that size (no
data is read; the data phase is ~0)."""

TIMING_SMOKE = {
    "cifar100": {"batch_size": 8, "limit_batches": 3, "warmup_batches": 1, "width": 8},
    "imagenet": {
        "batch_size": 4,
        "limit_batches": 3,
        "warmup_batches": 1,
        "phases": (Phase(0, 4, 64),),
    },
}
"""``sweep timing --scale smoke``, on the CPU: batches of 8 (CIFAR-100 size, PreActResNet18 at
width 8) and of 4 (ResNet-50 at its full width, which is fixed, but 64-px instead of 224-px
images), 3 timed batches after 1 warm-up. The one place the timing smoke reduction is written."""


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


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"no experiment {name!r}; experiments: {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


def timing_config(setting: Setting, scale: str) -> TrainConfig:
    """The config a timing run reads its model, batch, image size and batch counts from
    (:data:`TIMING` or :data:`TIMING_SMOKE`); ``limit_batches`` is the number of timed batches
    and the last phase's crop the image side."""
    table = {"paper": TIMING, "smoke": TIMING_SMOKE}.get(scale)
    if table is None:
        raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")
    base = preset(setting.dataset)
    changes = {"phases": (), **table[setting.dataset]}
    return dataclasses.replace(base, model=setting.model, method="all", **changes)


def setting_config(setting: Setting, scale: str, smoke: dict[str, Any] | None = None):
    """The base config of a setting: its dataset's preset with its model (paper), or the
    built-in set reduced as ``smoke`` (default :data:`SMOKE`) says (smoke)."""
    if scale == "paper":
        return dataclasses.replace(preset(setting.dataset), model=setting.model)
    if scale == "smoke":
        reduction = SMOKE if smoke is None else smoke
        return dataclasses.replace(preset(setting.dataset), model=setting.model, **reduction)
    raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")


FIXED_BY_GRID = ("dataset", "model", "method", "seed")
"""Fields the grid sets; ``--set`` may change any other (and it becomes part of the key)."""


def expand(
    name: str, *, scale: str = "paper", seeds: int | None = None, overrides: Sequence[str] = ()
) -> list[Run]:
    """Every distinct run of experiment ``name``: settings x methods x variants x seeds
    0..N-1, N from ``seeds`` or the experiment's default for the scale, less the repeats of a
    run that several variants share; ``overrides`` (``--set KEY=VALUE``) change every run's
    config."""
    distinct: dict[str, Run] = {}
    for _, run in cells(name, scale=scale, seeds=seeds, overrides=overrides):
        distinct.setdefault(run.key, run)
    return list(distinct.values())


def cells(
    name: str, *, scale: str = "paper", seeds: int | None = None, overrides: Sequence[str] = ()
) -> list[tuple[Variant, Run]]:
    """Every grid cell of experiment ``name`` with its run, shared runs repeated: what a table
    reads (see :func:`expand`)."""
    experiment = get_experiment(name)
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    count = seeds or (experiment.seeds if scale == "paper" else experiment.smoke_seeds)
    settings = experiment.settings_at(scale)
    _check_free(experiment, overrides)
    found = []
    for setting in settings:
        if experiment.kind == "timing":
            base = timing_config(setting, scale)
        else:
            base = setting_config(setting, scale, experiment.smoke)
        for method in experiment.methods:
            for variant in experiment.variants:
                for seed in range(count):
                    config = dataclasses.replace(base, method=method, seed=seed)
                    assignments = [*variant.overrides, *overrides]
                    if assignments:
                        config = apply_overrides(config, assignments)
                    cell = (setting.name, method, seed, config, variant.overrides)
                    found.append((variant, Run(experiment.runs_of or name, scale, *cell)))
    return found


def _check_free(experiment: Experiment, overrides: Sequence[str]) -> None:
    """Refuse a ``--set`` of what the grid sets: it would merge the grid's cells."""
    varied = {a.partition("=")[0].strip() for v in experiment.variants for a in v.overrides}
    for assignment in overrides:
        key = assignment.partition("=")[0].strip()
        if key in FIXED_BY_GRID or key in varied:
            raise ValueError(
                f"--set {assignment}: the experiment's grid sets {', '.join(FIXED_BY_GRID)}"
                + (f" and {', '.join(sorted(varied))}" if varied else "")
                + "; choose them with the experiment, --scale and --seeds."
            )
