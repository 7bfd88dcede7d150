"""Algorithm 1 here against the official solver, side by side on the same problems.

Runs ``match.get_onehot_matrix`` of snu-mllab/Co-Mixup (imported from a checkout given with
``--official-dir``; it is not part of this project and never runs in the test suite) and
``comixup.solver.solve_partition`` on the same realistic problems (``comixup.problems``: 20
inputs, 4x4 grid, blob-like saliency, paper defaults), with the same Dirichlet prior and the same
random start, and reports the mean clipped objective f of each, the official solver's, ours as
published (last pass) and ours keeping its best iterate, and the share of problems on which the
resolve pass changed the result (last pass != best iterate).

The prior is folded into the cost (``-eta' log p`` per block) and both solvers get eta = 0, so
neither draws its own; f is evaluated on that cost. Usage::

    python -m benchmarks.official_solver --official-dir ~/src/Co-Mixup --problems 50
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from comixup.config import CoMixupConfig
from comixup.objective import objective
from comixup.problems import realistic_problem
from comixup.solver import solve_partition

CONFIG = CoMixupConfig()
PRIOR_EPS = 1e-8
"""The official ``cost_matrix -= eta * torch.log(alpha + 1e-8)``."""


def load_official(folder: Path):
    """The official ``match`` module from a checkout of snu-mllab/Co-Mixup."""
    if not (folder / "match.py").is_file():
        raise SystemExit(f"{folder} holds no match.py; pass a checkout of snu-mllab/Co-Mixup.")
    sys.path.insert(0, str(folder))
    return importlib.import_module("match")


def problem(seed: int, config: CoMixupConfig) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Cost with the prior folded in (m, g, g), A (m, m), and a random start (m', g * g)."""
    cost, A = realistic_problem(seed, config.partition_size, grid_size=config.grid_size)
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.full(cost.shape[0], config.alpha))
    n_blocks = config.grid_size**2
    cost = cost - config.eta / n_blocks * torch.from_numpy(np.log(prior + PRIOR_EPS))[:, None, None]
    start = rng.integers(0, cost.shape[0], size=(cost.shape[0], n_blocks))
    return cost, A, start


def official_labeling(match, cost, A, start, config: CoMixupConfig) -> torch.Tensor:
    m, g, _ = cost.shape
    z = match.get_onehot_matrix(
        cost.clone().float(),
        A.float(),
        m,
        idx=torch.from_numpy(start).reshape(m, g, g),
        beta=config.beta,
        gamma=config.gamma,
        eta=0.0,
        mixup_alpha=config.alpha,
        thres=config.tau,
        set_resolve=config.resolve,
        niter=config.n_iter,
        device="cpu",
    )
    return z.double()


def our_labeling(cost, A, start, config: CoMixupConfig) -> torch.Tensor:
    m, g, _ = cost.shape
    z, _ = solve_partition(
        cost.numpy(), A.numpy(), m, config, np.random.default_rng(0), init_labels=start[None]
    )
    return torch.from_numpy(z.reshape(m, g, g, m))


def compare(match, problems: int) -> pd.DataFrame:
    """One row per problem: f of each solver and the seconds each took."""
    flat = dataclasses.replace(CONFIG, eta=0.0)
    best = dataclasses.replace(flat, keep_best=True)
    rows = []
    for seed in range(problems):
        cost, A, start = problem(seed, CONFIG)
        row: dict[str, float] = {"seed": seed}
        solvers = {
            "official": lambda c, a, s: official_labeling(match, c, a, s, flat),
            "ours (last pass)": lambda c, a, s: our_labeling(c, a, s, flat),
            "ours (best iterate)": lambda c, a, s: our_labeling(c, a, s, best),
        }
        for name, solve in solvers.items():
            began = time.perf_counter()
            z = solve(cost, A, start)
            row[f"{name} s"] = time.perf_counter() - began
            row[name] = objective(cost, z, A, flat)
            row[f"{name} z"] = z
        row["resolve changed"] = not torch.equal(
            row["ours (last pass) z"], row["ours (best iterate) z"]
        )
        row["same as official"] = torch.allclose(row["official z"], row["ours (last pass) z"])
        rows.append({key: value for key, value in row.items() if not key.endswith(" z")})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--official-dir", type=Path, required=True, help="snu-mllab/Co-Mixup checkout"
    )
    parser.add_argument("--problems", type=int, default=50, help="problems to solve (default 50)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="folder for the table")
    args = parser.parse_args(argv)
    match = load_official(args.official_dir.expanduser())
    torch.manual_seed(0)
    frame = compare(match, args.problems)
    names = ("official", "ours (last pass)", "ours (best iterate)")
    paired = frame["ours (last pass)"] - frame["official"]
    summary = pd.DataFrame(
        {
            "solver": names,
            "mean f": [frame[name].mean() for name in names],
            "std f": [frame[name].std() for name in names],
            "median s / partition": [frame[f"{name} s"].median() for name in names],
        }
    )
    lines = [
        "# Algorithm 1: this project against the official solver",
        "",
        f"{args.problems} problems (20 inputs, 4x4 grid, blob saliency, paper defaults), same "
        "prior and start for every solver; f is the clipped objective. Made by "
        "`python -m benchmarks.official_solver`.",
        "",
        summary.to_markdown(index=False, floatfmt=".4f"),
        "",
        f"- the resolve pass changed our result (last pass != best iterate) on "
        f"{frame['resolve changed'].mean():.0%} of the problems;",
        f"- our last pass equals the official labeling on {frame['same as official'].mean():.0%}"
        " (the soft states' pairwise costs differ: exact squared distances here, the official"
        " 0.25 / 1.0 approximation and its -5e-4 bonus there; see docs/design.md);",
        f"- paired difference f(ours, last pass) - f(official): mean {paired.mean():+.4f}, "
        f"standard error {paired.std(ddof=1) / np.sqrt(len(paired)):.4f}; ours lower on "
        f"{(paired < 0).mean():.0%} of the problems.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "official-solver.md").write_text("\n".join(lines) + "\n")
    frame.to_csv(args.out / "official-solver.csv", index=False)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
