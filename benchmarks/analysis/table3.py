"""Supplement Table 3: Algorithm 1 against the Narasimhan-Bilmes procedure and random guess.

Random problems of the paper's size family: m = m' in {5, 10, 20, 50, 100} inputs/outputs on
the 4x4 grid, unary costs uniform on [0, 1) (un-normalised, as Table 2's second setting), the
paper's defaults otherwise (``CoMixupConfig()``: beta 0.32, gamma 1, eta 0.05, tau 0.83,
omega 0.001, |L| = 3, 4 iterations), one Dirichlet prior per problem, and
``A = (1 - omega) I + omega A_c`` built as in the paper with each input's "salient location"
taken as its cheapest grid block (so ``A_c`` is not trivially zero on a 4x4 grid).

For each seed both algorithms start from the same i.i.d. uniform random labeling (each gets a
fresh generator with the same seed); f is the clipped objective (as in Table 2). Algorithm 1
may use soft (half-half) blocks; Narasimhan-Bilmes and random guess search hard labelings only.
The same runs time both algorithms, which is Table 4 (:mod:`benchmarks.analysis.table4`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import NamedTuple

import pandas as pd
import torch
from tqdm.auto import tqdm

from comixup.compatibility import compatibility_matrix
from comixup.config import CoMixupConfig
from comixup.objective import objective
from comixup.reference import narasimhan_bilmes, random_guess
from comixup.solver import draw_prior, numpy_rng, solve_labeling

SIZES = (5, 10, 20, 50, 100)
"""m = m' of the supplement's Tables 3-4 and Figure 2 (right)."""
GRID = 4
"""The labeling grid side (paper default ``m_block_num`` 4)."""
CONFIG = CoMixupConfig()
RANDOM_GUESS_SAMPLES = 1000
"""Random labelings averaged per seed for the random-guess column (as in Table 2)."""
METHOD_SEED_OFFSET = 1_000_003
"""The methods' generators are seeded ``seed + offset``: apart from the problem's own draws."""
ALGORITHM_1 = "Algorithm 1"
ALGORITHM_1_BEST = "Algorithm 1 (best iterate)"
NARASIMHAN_BILMES = "Narasimhan-Bilmes"
RANDOM_GUESS = "random guess"
METHODS = (ALGORITHM_1, ALGORITHM_1_BEST, NARASIMHAN_BILMES, RANDOM_GUESS)
BEST_ITERATE = replace(CONFIG, keep_best=True)
"""Algorithm 1 returning the best labeling seen by f instead of its last pass (not the paper's)."""


class Problem(NamedTuple):
    cost: torch.Tensor  # (m, GRID, GRID)
    A: torch.Tensor  # (m, m)
    prior: torch.Tensor  # (m,)


def cheapest_block_compatibility(cost: torch.Tensor, omega: float) -> torch.Tensor:
    """``A = (1 - omega) I + omega A_c`` with A_c the l1 distances between cheapest blocks."""
    m, _, width = cost.shape
    flat = cost.reshape(m, -1).argmin(1)
    locations = torch.stack([flat // width, flat % width], dim=1).to(cost.dtype)
    return compatibility_matrix(torch.cdist(locations, locations, p=1), omega)


def draw_problem(m: int, seed: int, config: CoMixupConfig = CONFIG) -> Problem:
    """Costs, A and the Dirichlet prior of problem ``seed`` with m inputs."""
    generator = torch.Generator().manual_seed(seed)
    cost = torch.rand(m, GRID, GRID, generator=generator, dtype=torch.float64)
    prior = torch.from_numpy(draw_prior(m, config.alpha, numpy_rng(generator)))
    return Problem(cost, cheapest_block_compatibility(cost, config.omega), prior)


def method_generator(seed: int) -> torch.Generator:
    """A fresh generator per method and seed: both algorithms draw the same start."""
    return torch.Generator().manual_seed(seed + METHOD_SEED_OFFSET)


def evaluate(m: int, seed: int, *, with_random_guess: bool = True) -> dict[str, float]:
    """f, wall and CPU seconds of each algorithm on problem ``seed`` (m = m'); one record."""
    cost, A, prior = draw_problem(m, seed)
    record: dict[str, float] = {"m": m, "seed": seed}

    wall, cpu = time.perf_counter(), time.process_time()
    z = solve_labeling(cost, A, m, CONFIG, method_generator(seed), prior=prior)
    record[f"{ALGORITHM_1} s"] = time.perf_counter() - wall
    record[f"{ALGORITHM_1} cpu s"] = time.process_time() - cpu
    record[ALGORITHM_1] = objective(cost, z, A, CONFIG, prior=prior)
    z = solve_labeling(cost, A, m, BEST_ITERATE, method_generator(seed), prior=prior)
    record[ALGORITHM_1_BEST] = objective(cost, z, A, CONFIG, prior=prior)

    trace: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    z = narasimhan_bilmes(cost, A, m, CONFIG, method_generator(seed), prior=prior, trace=trace)
    record[f"{NARASIMHAN_BILMES} s"] = time.perf_counter() - wall
    record[f"{NARASIMHAN_BILMES} cpu s"] = time.process_time() - cpu
    record[NARASIMHAN_BILMES] = objective(cost, z, A, CONFIG, prior=prior)
    record[f"{NARASIMHAN_BILMES} steps"] = len(trace) - 1
    record["start"] = trace[0]

    if with_random_guess:
        record[RANDOM_GUESS] = random_guess(
            cost, A, m, CONFIG, method_generator(seed), n_samples=RANDOM_GUESS_SAMPLES, prior=prior
        )
    return record


def measure(
    sizes: tuple[int, ...] = SIZES,
    seeds: int = 100,
    *,
    with_random_guess: bool = True,
    progress: bool = True,
    desc: str = "Tables 3-4",
) -> pd.DataFrame:
    """One record per (m, seed): every method's f and both algorithms' times."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be positive integers, got {sizes}.")
    # Warm up (imports, caches) outside the timed runs.
    evaluate(min(sizes), 0, with_random_guess=False)
    records = []
    bar = tqdm(total=len(sizes) * seeds, desc=desc, unit="problem", disable=not progress)
    for m in sizes:
        bar.set_postfix_str(f"m = m' = {m}")
        for seed in range(seeds):
            records.append(evaluate(m, seed, with_random_guess=with_random_guess))
            bar.update()
    bar.close()
    return pd.DataFrame(records)


def integer_columns_as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer columns as Python ints, so that an all-numeric table's Markdown prints them
    without decimals (``to_markdown`` would otherwise see one float array)."""
    integers = frame.select_dtypes("integer").columns
    return frame.astype({column: object for column in integers})


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of f over the seeds per m and method: Table 3."""
    rows = []
    for m, group in records.groupby("m", sort=True):
        row = {"m = m'": int(m), "seeds": len(group)}
        for name in METHODS:
            if name in group:
                row[f"{name} mean"] = group[name].mean()
                row[f"{name} std"] = group[name].std(ddof=1) if len(group) > 1 else 0.0
        rows.append(row)
    return integer_columns_as_objects(pd.DataFrame(rows))


NOTES = """
Mean and standard deviation over the seeds of f, the clipped Co-Mixup objective (as in Table
2), on random problems: m = m' inputs/outputs, 4x4 grid, unary costs uniform on [0, 1), the
paper's defaults (beta 0.32, gamma 1, eta 0.05, tau 0.83, omega 0.001, |L| = 3, 4 iterations),
a Dirichlet(2) prior per problem, A = (1 - omega) I + omega A_c with each input's salient
location taken as its cheapest block. Both algorithms start from the same random labeling.
"Algorithm 1" is the published algorithm, returning its last pass (as the official
get_onehot_matrix does); "best iterate" returns the best labeling seen by f (not in the paper).
Narasimhan-Bilmes (comixup.reference.narasimhan_bilmes) replaces the compatibility term by the
thresholded modular bound of a random chain through the current labeling and minimises the rest
by alpha-beta swap per output, until a step no longer improves f; it searches hard labelings,
while Algorithm 1 also uses half-half blocks. Random guess: mean f of 1000 uniformly random
hard labelings per seed.
"""
