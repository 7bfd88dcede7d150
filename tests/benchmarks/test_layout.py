"""The layout's rules, read from the source: small modules, and commands that only parse their
arguments, make one call and print (no loop over runs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
COMMANDS = BENCHMARKS / "commands"
MAX_LINES = 400


def test_no_module_of_benchmarks_is_over_400_lines():
    sizes = {
        str(path.relative_to(BENCHMARKS.parent)): len(path.read_text().splitlines())
        for path in BENCHMARKS.rglob("*.py")
    }
    assert len(sizes) > 50  # it did find the package
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}


LOOPS_ALLOWED = {"_common.py", "__init__.py"}
"""Plumbing, not commands: the help layout walks its text's lines, ``register_all`` the list of
commands."""

RUN_WORDS = ("run", "state", "result", "setting", "cell", "done", "expand")
"""A name or attribute starting with one of these stands for runs, their states or results,
or a grid of them (``runs``, ``run_states``, ``run_id``, ``settings``, ``expand(...)``)."""


def _command_trees() -> dict[str, ast.Module]:
    trees = {path.name: ast.parse(path.read_text()) for path in sorted(COMMANDS.glob("*.py"))}
    assert "train.py" in trees and "sweep.py" in trees
    return trees


def _loops(tree: ast.Module) -> list[str]:
    return [
        f"line {node.lineno}: {type(node).__name__.lower()}"
        for node in ast.walk(tree)
        if isinstance(node, ast.For | ast.AsyncFor | ast.While)
    ]


def _words(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _loops_over_runs(tree: ast.Module) -> list[str]:
    """Comprehensions whose iterable names runs (printing a result's fields is fine)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            for generator in node.generators:
                words = {w for w in _words(generator.iter) if w.lower().startswith(RUN_WORDS)}
                # ``result.<field>`` is the one call's answer being printed, not a run.
                if words - {"result"} or _iterates_result_itself(generator.iter):
                    found.append(f"line {node.lineno}: over {ast.unparse(generator.iter)}")
    return found


def _iterates_result_itself(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id.lower().startswith(RUN_WORDS)


@pytest.mark.parametrize("check", [_loops, _loops_over_runs])
def test_commands_hold_no_loops_over_runs(check):
    """No ``for``/``while`` statement in a command module (only in the plumbing of
    :data:`LOOPS_ALLOWED`), and no comprehension over runs anywhere in ``commands/``: a loop
    over runs belongs to the function the command calls."""
    trees = _command_trees()
    if check is _loops:
        trees = {name: tree for name, tree in trees.items() if name not in LOOPS_ALLOWED}
    found = {name: check(tree) for name, tree in trees.items()}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_checks_find_loops_and_loops_over_runs():
    source = (
        "def run(args):\n"
        "    for run in expand(args.experiment):\n"
        "        print(run)\n"
        "    keys = [state.run.key for state in run_states(runs)]\n"
        "    print(*(f'{k}: {v}' for k, v in result.metrics.items()))\n"
        "    print(', '.join(str(path) for path in result.files))\n"
    )
    tree = ast.parse(source)
    assert _loops(tree) == ["line 2: for"]
    assert _loops_over_runs(tree) == ["line 4: over run_states(runs)"]
