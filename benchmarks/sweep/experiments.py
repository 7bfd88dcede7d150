"""The paper's experiments as grids of runs, at the paper's scale, at a reduced scale two CPU
cores can run, or as a CPU smoke test.

An :class:`Experiment` is settings (dataset x model) x methods x variants x seeds; a
:class:`Variant` is a set of ``--set`` assignments with the table row and column it fills.
``expand`` turns it into :class:`Run` s, each a full :class:`TrainConfig` and a key that names
what changes its result; variants whose configs are equal share one run (Table 7's default
point is one run per seed, read by all five rows). ``--scale paper`` takes each dataset's preset
(the paper's protocol). ``--scale reduced`` trains the offline sets until the methods have
stopped improving, with fewer cells where two cores' budget needs it: :data:`REDUCED` and the
experiments' ``reduced*`` fields below, where every reduced choice is written once, with the
measurement behind it. ``--scale smoke`` swaps every setting for a built-in set and a narrow,
short schedule (:data:`SMOKE` and the ``smoke*`` fields), so that each table can be made end to
end on a laptop in minutes. The parts these are made of are in :mod:`benchmarks.sweep.design`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from benchmarks.configs import TrainConfig, apply_overrides, preset
from benchmarks.configs.base import Phase
from benchmarks.sweep.design import (  # noqa: F401 - the names every caller imports from here
    BOXED,
    SCALES,
    DeferredVariants,
    Experiment,
    Run,
    Setting,
    Variant,
    check_free,
    config_digest,
    one_at_a_time,
)

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


REDUCED = {"epochs": 30, "milestones": (10, 20)}
"""``--scale reduced`` of the image experiments: the boxed digits (``BOXED``: digits pasted on
photographs, 1437 train / 360 test, 10 classes) with its preset (benchmarks/configs/builtin.py:
PreActResNet18 at width 16, batches of 64, SGD at 0.1), for 30 epochs with the learning rate
down 10x after epochs 10 and 20: the CIFAR preset's proportions (300 epochs, decays after 100
and 200), so that the last 10 epochs (those of the paper's statistic, their median) are all at
the final rate. Chosen by measurement: an epoch takes about 10 s for vanilla and the input
mixers, 18 s for Puzzle Mix and Co-Mixup, 20 s for VAT (one thread per run, two side by side),
so the main grid (6 methods x 3 seeds) takes about 50 minutes on two cores. The first choice,
20 epochs with decays after 10 and 15 (34 minutes), left Input Mixup, Manifold Mixup, CutMix
and Puzzle Mix falling 0.75-1.19 points per epoch over their last 10 epochs (the rule: under
0.5), the fall in the 5 epochs at the middle rate; vanilla and Co-Mixup had stopped. Each
table's notes say whether every method stopped improving (the slope of its last 10 epochs)."""

COMIXUP_REDUCED = {"epochs": 20, "milestones": (10, 15)}
"""``--scale reduced`` of Table 7, which compares Co-Mixup with itself: the first reduced
schedule, which Co-Mixup outlasts (measured on the main grid's 3 seeds: its error falls about
0.1 points per epoch over epochs 11-20, 4.0% to 2.6%), so that its runs cost two thirds of
main's (see :data:`REDUCED_SENSITIVITY_ROWS`). Its default point is main's Co-Mixup runs at this
schedule (their run ids are in the table)."""

SPEECH_REDUCED = {"epochs": 20, "width": 8}
"""``--scale reduced`` of the speech experiment: the offline spoken-words preset (Adam, batches
of 10) with room for 20 epochs, so that early stopping (5 epochs without a better validation
accuracy) can end a run before the epoch limit, and the models at width 8 (LeNet's convs 8
channels, VGG-11's stages 8-64). Chosen by measurement: at the preset's width 16 the 24 runs
took 3848 s with two side by side (budget: 30 minutes); one training step (batch of 10, one
thread, fused Adam) takes 231 ms (LeNet) and 296 ms (VGG-11) at width 16, 67 ms and 107 ms at
width 8, while a batch of 20 at width 16 costs 312 ms and 574 ms (it would change the protocol
and save less). At width 8 the 24 runs took 1442 s (two side by side, 2026-12-07); early
stopping ended all 12 LeNet runs and 8 of the 12 VGG-11 runs (two of them at epoch 20)."""

REDUCED_SENSITIVITY_ROWS = {
    "omega": ("omega", (0.0, 1e-3)),
    "m": ("partition_size", (2, 20)),
}
"""Table 7 at ``--scale reduced``: two rows, each with the paper's best value (the default) and
its worst, on two seeds; the default point (main's Co-Mixup runs at this schedule,
``reduced_runs_of``) trains here when main has not. Chosen by measurement: two Co-Mixup runs
side by side on idle cores take 22.5 s an epoch each (981 ms a step: the clean pass with its
saliency 447 ms, the mixed forward and backward 450 ms, the mix 26 ms; 2026-12-08), so a
20-epoch run takes about 450 s and all five rows (beta 0.64, gamma 0.6, tau 0.79, omega 0,
m 2: 12 runs) about 45 minutes, over the 30-minute budget. Kept: omega, the diversity term that
is the paper's contribution (0 turns it off), and m, the partition size whose trend is a claim
of its own: the six runs took 1461 s with two side by side (a fresh store, 2026-12-08). Beta,
gamma and tau are not run at this scale."""

REDUCED_VAT_CELLS = ((0.001, 0, 1), (0.01, 0, 1), (0.1, 0, 1))
"""Table 8 at ``--scale reduced``: (alpha, power iterations, epsilon) of the cells run: every
alpha of the paper's column without power iterations (eps 1), at main's schedule since each is
compared with main's Co-Mixup runs: 3 cells x 2 seeds of about 10 minutes fit 30 minutes (a
cell with a power iteration costs a further forward and backward a batch, so it was left out)."""


def comixup_sensitivity() -> tuple[Variant, ...]:
    from comixup.config import CoMixupConfig

    return one_at_a_time("comixup", CoMixupConfig(), SENSITIVITY_ROWS)


def reduced_sensitivity() -> tuple[Variant, ...]:
    from comixup.config import CoMixupConfig

    return one_at_a_time("comixup", CoMixupConfig(), REDUCED_SENSITIVITY_ROWS)


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


def vat_variants(chosen: Sequence[tuple[float, int, int]] | None = None) -> tuple[Variant, ...]:
    """Table 8's cells in the supplement's order, or those of ``chosen`` (alpha, power, eps)."""
    every = [(alpha, *column) for alpha in VAT_ALPHAS for column in VAT_COLUMNS]
    return tuple(
        Variant(
            f"{alpha:g}",
            f"{power} update{'s' if power != 1 else ''}, eps {epsilon}",
            (f"vat.alpha={alpha!r}", f"vat.n_power={power}", f"vat.epsilon={epsilon}"),
        )
        for alpha, power, epsilon in every
        if chosen is None or (alpha, power, epsilon) in chosen
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
        # Five seeds of main's own runs: seeds 0-2 are main's, so only 3 and 4 train here.
        reduced_seeds=5,
        reduced_runs_of="main",
    ),
    "sensitivity": Experiment(
        "sensitivity",
        "Co-Mixup's hyperparameters one at a time (Table 7)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("comixup",),
        variants=DeferredVariants(comixup_sensitivity),
        seeds=3,
        smoke_seeds=1,
        reduced_seeds=2,
        reduced_variants=DeferredVariants(reduced_sensitivity),
        reduced=COMIXUP_REDUCED,
        reduced_runs_of="main",  # the default point is main's Co-Mixup run of each seed
    ),
    "vat": Experiment(
        "vat",
        "VAT settings (Table 8)",
        settings=(Setting("cifar100", "preactresnet18"),),
        methods=("vat",),
        variants=vat_variants(),
        seeds=3,
        smoke_seeds=1,
        reduced_seeds=2,
        reduced_variants=vat_variants(REDUCED_VAT_CELLS),
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
        reduced_seeds=2,
        reduced_settings=(Setting("speech-builtin", "lenet"), Setting("speech-builtin", "vgg11")),
        reduced=SPEECH_REDUCED,
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
        reduced_seeds=1,
        reduced_settings=(Setting("cifar100", "preactresnet18"), Setting("imagenet", "resnet50")),
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
        reduced_settings=BUILT_IN_SETS,
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

TIMING_REDUCED = {
    "cifar100": {"batch_size": 32, "limit_batches": 10, "warmup_batches": 2},
    "imagenet": {
        "batch_size": 8,
        "limit_batches": 10,
        "warmup_batches": 2,
        "phases": (Phase(0, 8, 112),),
    },
}
"""``sweep timing --scale reduced``, on the CPU: the paper's models at their full width (not the
smoke's width 8), batches of 32 at 32 px (CIFAR-100) and of 8 at 112 px (ResNet-50), 10 timed
batches after 2 warm-up ones: enough batches for the per-batch spread that tests the order of
the ratios, a few minutes on two cores."""


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"no experiment {name!r}; experiments: {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


def timing_config(setting: Setting, scale: str) -> TrainConfig:
    """The config a timing run reads its model, batch, image size and batch counts from
    (:data:`TIMING`, :data:`TIMING_REDUCED` or :data:`TIMING_SMOKE`); ``limit_batches`` is the
    number of timed batches and the last phase's crop the image side."""
    table = {"paper": TIMING, "reduced": TIMING_REDUCED, "smoke": TIMING_SMOKE}.get(scale)
    if table is None:
        raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")
    base = preset(setting.dataset)
    changes = {"phases": (), **table[setting.dataset]}
    return dataclasses.replace(base, model=setting.model, method="all", **changes)


def setting_config(setting: Setting, scale: str, changes: dict[str, Any] | None = None):
    """The base config of a setting: its dataset's preset with its model (paper), changed as
    ``changes`` says (default: :data:`REDUCED` at reduced scale, :data:`SMOKE` at smoke)."""
    if scale not in SCALES:
        raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")
    base = dataclasses.replace(preset(setting.dataset), model=setting.model)
    if scale == "paper":
        return base
    default = REDUCED if scale == "reduced" else SMOKE
    return dataclasses.replace(base, **(default if changes is None else changes))


def scale_changes(experiment: Experiment, scale: str) -> dict[str, Any] | None:
    """The experiment's own config changes at ``scale`` (None: the scale's default)."""
    return {"reduced": experiment.reduced, "smoke": experiment.smoke}.get(scale)


def expand(
    name: str,
    *,
    scale: str = "paper",
    seeds: int | None = None,
    overrides: Sequence[str] = (),
    schedule_of: str | None = None,
) -> list[Run]:
    """Every distinct run of experiment ``name``: settings x methods x variants x seeds
    0..N-1, N from ``seeds`` or the experiment's default for the scale, less the repeats of a
    run that several variants share; ``overrides`` (``--set KEY=VALUE``) change every run's
    config; ``schedule_of`` names another experiment whose config changes at ``scale`` to use
    (Table 7 reads main's baselines at its own reduced schedule)."""
    distinct: dict[str, Run] = {}
    runs = cells(name, scale=scale, seeds=seeds, overrides=overrides, schedule_of=schedule_of)
    for _, run in runs:
        distinct.setdefault(run.key, run)
    return list(distinct.values())


def cells(
    name: str,
    *,
    scale: str = "paper",
    seeds: int | None = None,
    overrides: Sequence[str] = (),
    schedule_of: str | None = None,
) -> list[tuple[Variant, Run]]:
    """Every grid cell of experiment ``name`` with its run, shared runs repeated: what a table
    reads (see :func:`expand`)."""
    experiment = get_experiment(name)
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    if scale not in SCALES:
        raise ValueError(f"no scale {scale!r}; scales: {', '.join(SCALES)}.")
    count = seeds or experiment.seeds_at(scale)
    settings = experiment.settings_at(scale)
    variants = experiment.variants_at(scale)
    check_free(variants, overrides)
    owner = experiment.runs_of_at(scale) or name
    changes = scale_changes(get_experiment(schedule_of or name), scale)
    found = []
    for setting in settings:
        if experiment.kind == "timing":
            base = timing_config(setting, scale)
        else:
            base = setting_config(setting, scale, changes)
        for method in experiment.methods:
            for variant in variants:
                for seed in range(count):
                    config = dataclasses.replace(base, method=method, seed=seed)
                    assignments = [*variant.overrides, *overrides]
                    if assignments:
                        config = apply_overrides(config, assignments)
                    cell = (setting.name, method, seed, config, variant.overrides)
                    found.append((variant, Run(owner, scale, *cell)))
    return found
