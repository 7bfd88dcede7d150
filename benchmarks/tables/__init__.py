"""Tables from logged runs: each module reads MLflow (runs, metrics, artifacts) and writes
``reports/``; none trains, times or solves anything.

:data:`TABLES` names every table ``comixup-bench table`` builds and the reproduction report
(``comixup-bench report``) covers. Each module it names has the same two functions:

- ``write_report(selection: Selection, out: Path) -> Path``: the table's files in ``out`` from
  the runs of ``selection`` (:class:`benchmarks.tables.selection.Selection`: scale, seeds,
  overrides); returns the Markdown's path;
- ``claims(scale: str, seeds: int | None) -> list[Claim]``: the paper's numbers beside the
  measured ones (:class:`benchmarks.tables.claims.Claim`), for the reproduction report;

and may set ``TITLE`` (the report's section title) and ``REPRODUCE`` (the commands that make
its runs and table, ``{scale}`` filled in). A new table is one module and one line here.

The registry holds module paths, not modules, so that this package imports nothing heavy:
``comixup-bench --help`` lists the tables without loading pandas, MLflow or torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

TABLES: dict[str, str] = {
    "main": "benchmarks.tables.main_table",
    "significance": "benchmarks.tables.significance",
    "calibration": "benchmarks.tables.calibration",
    "sensitivity": "benchmarks.tables.sensitivity",
    "vat": "benchmarks.tables.vat",
    "speech": "benchmarks.tables.table5",
    "timing": "benchmarks.tables.timing_table",
    "datasets": "benchmarks.tables.datasets",
}
"""Table name (``comixup-bench table NAME``) -> the module that builds it."""


def get_table(name: str) -> ModuleType:
    """The module of table ``name``, imported; a ValueError naming the known tables when
    there is none of that name."""
    if name not in TABLES:
        raise ValueError(f"no table named {name!r}; the tables are: {', '.join(TABLES)}.")
    return importlib.import_module(TABLES[name])
