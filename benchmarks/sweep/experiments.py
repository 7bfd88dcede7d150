"""The paper's experiments as grids of runs, at the paper's scale or as a CPU smoke test.

An :class:`Experiment` is settings (dataset x model) x methods x seeds; ``expand`` turns it into
:class:`Run` s, each a full :class:`TrainConfig` and a key that names what changes its result.
``--scale paper`` takes each dataset's preset (the paper's protocol); ``--scale smoke`` swaps
every setting for the built-in digits set and a narrow, short schedule, all of it in
:data:`SMOKE` (the one place the reduction is written down), so that each table can be made end
to end on a laptop in minutes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.configs import TrainConfig, apply_overrides, preset
from benchmarks.configs.base import Phase

SCALES = ("paper", "smoke")

MAIN_METHODS = ("vanilla", "input_mixup", "manifold_mixup", "cutmix", "puzzle_mix", "comixup")
"""The main table's columns (the paper's Table 1 order)."""

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
whole experiment; the numbers check the pipeline, not the methods."""

NOT_IDENTITY = ("data_dir", "download", "workers")
"""Config fields that change where data comes from or how fast, never a run's result: left out
of the run key, so moving the data or the loader processes keeps a run done."""


@dataclass(frozen=True)
class Setting:
    dataset: str
    model: str

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.model}"


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
    declared: bool = False
    """Named now, its grid filled by issue 13: expanding it is an error."""
    kind: str = "train"
    """What one run does: ``train`` (``benchmarks.train.train``) or ``timing`` (every method
    timed side by side in one process, ``benchmarks.tables.step_time.time_run``)."""
    runs_of: str = ""
    """The experiment whose runs this one reads, training none of its own (calibration reads
    main's): its runs carry that experiment's name, so their keys are that experiment's."""


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
        smoke_settings=(
            Setting("builtin", "preactresnet18"),
            Setting("boxed-digits", "preactresnet18"),
        ),
    ),
    "significance": Experiment(
        "significance",
        "Paired t-test, Puzzle Mix against Co-Mixup over seeds (Section 6.5)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("puzzle_mix", "comixup"),
        seeds=10,
        smoke_seeds=3,
    ),
    **{
        name: Experiment(name, title, declared=True)
        for name, title in (
            ("sensitivity", "Co-Mixup's hyperparameters one at a time (Table 7)"),
            ("vat", "VAT settings (Table 8)"),
            ("speech", "Speech Commands (Table 5)"),
        )
    },
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

    @property
    def cell(self) -> str:
        return f"{self.setting}/{self.method}"

    @property
    def key(self) -> str:
        """Names the run by what changes its result: the experiment, cell, seed and a digest
        of the config's result-changing fields."""
        digest = config_digest(self.config)
        return f"{self.experiment}/{self.scale}/{self.cell}/seed{self.seed}/{digest}"


def config_digest(config: TrainConfig) -> str:
    params = {k: v for k, v in config.to_params().items() if k not in NOT_IDENTITY}
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"no experiment {name!r}; experiments: {', '.join(EXPERIMENTS)}.")
    experiment = EXPERIMENTS[name]
    if experiment.declared:
        raise ValueError(
            f"experiment {name!r} ({experiment.title}) is declared but its grid is filled by "
            "issue 13; run one of: "
            + ", ".join(n for n, e in EXPERIMENTS.items() if not e.declared)
            + "."
        )
    return experiment


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


def setting_config(setting: Setting, scale: str) -> TrainConfig:
    """The base config of a setting: its dataset's preset with its model (paper), or the
    built-in set reduced as :data:`SMOKE` says (smoke)."""
    if scale == "paper":
        return dataclasses.replace(preset(setting.dataset), model=setting.model)
    if scale == "smoke":
        return dataclasses.replace(preset(setting.dataset), model=setting.model, **SMOKE)
    raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")


FIXED_BY_GRID = ("dataset", "model", "method", "seed")
"""Fields the grid sets; ``--set`` may change any other (and it becomes part of the key)."""


def expand(
    name: str, *, scale: str = "paper", seeds: int | None = None, overrides: Sequence[str] = ()
) -> list[Run]:
    """Every run of experiment ``name``: settings x methods x seeds 0..N-1, N from ``seeds``
    or the experiment's default for the scale; ``overrides`` (``--set KEY=VALUE``) change
    every run's config."""
    experiment = get_experiment(name)
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    count = seeds or (experiment.seeds if scale == "paper" else experiment.smoke_seeds)
    settings = experiment.settings if scale == "paper" else experiment.smoke_settings
    fixed = [a for a in overrides if a.partition("=")[0].strip() in FIXED_BY_GRID]
    if fixed:
        raise ValueError(
            f"--set {fixed[0]}: the experiment's grid sets {', '.join(FIXED_BY_GRID)}; "
            "choose them with the experiment, --scale and --seeds."
        )
    runs = []
    for setting in settings:
        configure = timing_config if experiment.kind == "timing" else setting_config
        base = configure(setting, scale)
        for method in experiment.methods:
            for seed in range(count):
                config = dataclasses.replace(base, method=method, seed=seed)
                if overrides:
                    config = apply_overrides(config, overrides)
                runs.append(
                    Run(experiment.runs_of or name, scale, setting.name, method, seed, config)
                )
    return runs
