"""Supplement Table 4: convergence time of Algorithm 1 and the Narasimhan-Bilmes procedure.

The problems and runs of Table 3 (:mod:`benchmarks.analysis.table3`): each algorithm runs from
the same random start until it stops on its own (Algorithm 1: 4 passes or a relative change of
f under 1e-6; Narasimhan-Bilmes: a step that no longer improves f), timed by wall clock
(``time.perf_counter``) and by this process's CPU time (``time.process_time``), which is less
affected by other jobs on the machine.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.analysis.table3 import (
    ALGORITHM_1,
    NARASIMHAN_BILMES,
    SIZES,
    integer_columns_as_objects,
    measure,
)


def run(sizes: tuple[int, ...] = SIZES, seeds: int = 100, *, progress: bool = True):
    """Time both algorithms on ``seeds`` problems per m; returns the per-seed records."""
    return measure(sizes, seeds, with_random_guess=False, progress=progress, desc="Table 4")


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean (std) seconds per m for both algorithms, CPU seconds and NB's step count."""
    rows = []
    for m, group in records.groupby("m", sort=True):
        row = {"m = m'": int(m), "seeds": len(group)}
        for name in (ALGORITHM_1, NARASIMHAN_BILMES):
            seconds = group[f"{name} s"]
            row[f"{name} (s) mean"] = seconds.mean()
            row[f"{name} (s) std"] = seconds.std(ddof=1) if len(group) > 1 else 0.0
            row[f"{name} CPU (s) mean"] = group[f"{name} cpu s"].mean()
        row[f"{NARASIMHAN_BILMES} steps mean"] = group[f"{NARASIMHAN_BILMES} steps"].mean()
        row["NB / Alg. 1 time"] = (
            row[f"{NARASIMHAN_BILMES} (s) mean"] / row[f"{ALGORITHM_1} (s) mean"]
        )
        rows.append(row)
    return integer_columns_as_objects(pd.DataFrame(rows))


NOTES = """
Seconds until each algorithm stops, per problem of Table 3 (same problems and starts; one call
each, after one untimed warm-up call), mean and standard deviation over the seeds; "CPU" is
this process's CPU time. Algorithm 1 stops after 4 passes or a relative change of f under 1e-6;
Narasimhan-Bilmes after the first step that no longer improves f ("steps" counts its steps,
the last, non-improving one included). Single process on the CPU; other jobs on the machine
add noise to the wall-clock times.
"""
