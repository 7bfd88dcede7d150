"""The tables' contract: one registry, ``TABLES``; every table only reads logged runs; a new
table is one module plus one registry line (shown with a throw-away table written here, built
from real MLflow runs and reported by ``comixup-bench report``)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import benchmarks.tables
from benchmarks.cli import main
from benchmarks.runner import tracking
from benchmarks.tables import TABLES, get_table
from benchmarks.tables.claims import NOT_RUN, REPRODUCED
from benchmarks.tables.reproduction import OTHER_CLAIMS

TABLES_DIR = Path(benchmarks.tables.__file__).parent
ANALYSIS_CLAIMS = TABLES_DIR.parent / "analysis" / "claims.py"
FORBIDDEN = (
    "benchmarks.runner",
    "benchmarks.analysis",
    "benchmarks.methods",
    "benchmarks.models",
    "comixup",
    "baselines",
)
"""What a table may not import: the runner, a solver, the method and model registries."""
ALLOWED = ("benchmarks.analysis.claims",)
"""The one module of ``benchmarks.analysis`` that only reads logged runs."""


def imported(source: str) -> list[str]:
    """Every module an ``import`` statement of ``source`` names, at any depth (inside functions
    too), ``from package import module`` as ``package.module``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def forbidden(source: str) -> list[str]:
    """The modules ``source`` imports that a table may not."""
    return [
        name for name in imported(source) if _within(name, FORBIDDEN) and not _within(name, ALLOWED)
    ]


def test_the_import_check_sees_each_way_of_importing():
    assert forbidden("import comixup") == ["comixup"]
    assert forbidden("from benchmarks import runner") == ["benchmarks.runner"]
    assert forbidden("def f():\n    from benchmarks.runner.tracking import start_run\n") == [
        "benchmarks.runner.tracking",
        "benchmarks.runner.tracking.start_run",
    ]
    assert forbidden("from benchmarks.methods import METHOD_NAMES")
    assert forbidden("import baselines.vat") == ["baselines.vat"]
    assert not forbidden("import comixup_bench_like\nfrom benchmarks.tables import paper")
    assert not forbidden("from benchmarks.analysis.claims import claims")


@pytest.mark.parametrize(
    "path",
    [*sorted(TABLES_DIR.glob("*.py")), ANALYSIS_CLAIMS],
    ids=lambda path: path.name,
)
def test_no_table_imports_the_runner_or_a_solver(path):
    assert forbidden(path.read_text()) == [], f"{path} imports what a table must not"


def test_every_registered_table_has_the_two_functions():
    for name, module_path in TABLES.items():
        module = get_table(name)
        assert module.__name__ == module_path
        assert callable(module.write_report) and callable(module.claims), name
        parameters = list(inspect.signature(module.write_report).parameters)
        assert parameters == ["selection", "out"], name
        assert list(inspect.signature(module.claims).parameters)[:2] == ["scale", "seeds"], name
    with pytest.raises(ValueError, match=r"no table named 'nope'.*main, significance"):
        get_table("nope")


def test_the_registry_imports_nothing_heavy():
    script = (
        "import sys, benchmarks.tables\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'pandas', 'mlflow', 'numpy') or m.startswith('benchmarks.tables.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# --- A new table: one module plus one registry line -----------------------------------------

THROWAWAY = '''
"""A throw-away table: each logged run's error, and their mean beside a made-up paper value."""

from pathlib import Path

import mlflow

from benchmarks.tables.claims import Claim
from benchmarks.tables.report import write_table

TITLE = "Table 99: a throw-away table"
PAPER = 20.0


def _runs(scale):
    runs = mlflow.search_runs(
        experiment_names=["throwaway"], filter_string=f"params.scale = '{scale}'"
    )
    return runs.sort_values("params.seed") if len(runs) else runs


def write_report(selection, out: Path) -> Path:
    runs = _runs(selection.scale)
    frame = runs[["params.seed", "metrics.error", "run_id"]].rename(
        columns={"params.seed": "seed", "metrics.error": "error (%)"}
    )
    md, _ = write_table(frame, "throwaway", out, title=f"{TITLE}, {selection.scale} scale")
    return md


def claims(scale, seeds):
    runs = _runs(scale)
    errors = runs["metrics.error"] if len(runs) else []
    return [
        Claim(
            table="Table 99",
            claim="throw-away error",
            paper=PAPER,
            measured=float(errors.mean()) if len(runs) else None,
            unit="%",
            scale=scale,
            seeds=len(runs),
            spread=float(errors.std(ddof=1)) if len(runs) > 1 else None,
            command=f"comixup-bench table throwaway --scale {scale}",
            run_ids=tuple(runs["run_id"]) if len(runs) else (),
        )
    ]
'''


@pytest.fixture
def throwaway(store, tmp_path, monkeypatch):
    """The throw-away module on ``sys.path``, its line in ``TABLES``, and three real runs of
    experiment ``throwaway`` (two at the paper's scale, one smoke) in the private store."""
    folder = tmp_path / "modules"
    folder.mkdir()
    (folder / "throwaway_table.py").write_text(textwrap.dedent(THROWAWAY))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setitem(TABLES, "throwaway", "throwaway_table")
    logged = {}
    for scale, seed, error in (("paper", 0, 19.5), ("paper", 1, 20.3), ("smoke", 0, 60.0)):
        with tracking.start_run("throwaway", run_name=f"{scale}-{seed}") as run:
            import mlflow

            mlflow.log_params({"scale": scale, "seed": seed})
            mlflow.log_metric("error", error)
        logged[(scale, seed)] = (run.info.run_id, error)
    yield logged
    sys.modules.pop("throwaway_table", None)


def test_a_new_table_is_one_module_and_one_registry_line(throwaway, tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["table", "throwaway", "--scale", "paper", "--out", str(out)]) == 0
    frame = pd.read_csv(out / "throwaway.csv")
    paper_runs = [throwaway[("paper", 0)], throwaway[("paper", 1)]]
    assert list(frame["run_id"]) == [run_id for run_id, _ in paper_runs]
    assert list(frame["error (%)"]) == [error for _, error in paper_runs]
    markdown = (out / "throwaway.md").read_text()
    assert markdown.startswith("# Table 99: a throw-away table, paper scale")
    assert markdown in capsys.readouterr().out

    assert main(["report", "--scale", "paper", "--out", str(out)]) == 0
    claims = pd.read_csv(out / "claims.csv")
    row = claims[claims["table"] == "Table 99"].iloc[0]
    assert row["measured"] == pytest.approx((19.5 + 20.3) / 2)
    assert set(row["run_ids"].split()) == {run_id for run_id, _ in paper_runs}
    assert row["verdict"] == REPRODUCED  # 0.1 from the paper's 20.0, within 2 std of 0.57
    readme = (out / "README.md").read_text()
    assert "## Table 99: a throw-away table" in readme
    assert "comixup-bench sweep throwaway --scale paper" in readme  # the default commands
    sources = len(TABLES) + len(OTHER_CLAIMS)  # the registries with Table 99 in
    assert f"{sources} of {sources} tables built" in readme

    assert main(["report", "--scale", "smoke", "--out", str(out)]) == 0
    smoke = pd.read_csv(out / "claims.csv")
    row = smoke[smoke["table"] == "Table 99"].iloc[0]
    assert row["measured"] == 60.0 and row["verdict"] == NOT_RUN


def test_an_unregistered_table_is_refused(store, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["table", "throwaway", "--scale", "paper"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'throwaway'" in capsys.readouterr().err
