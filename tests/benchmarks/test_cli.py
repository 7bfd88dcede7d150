"""The `comixup-bench` command line: the table2 command end to end, on two seeds; the parser
of every command (fast help, validated names, defaults that agree with the code)."""

from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from benchmarks import cli, commands
from benchmarks.commands import _analysis, _training


def test_table2_writes_markdown_and_csv(tmp_path, capsys, store):
    out = tmp_path / "reports"
    assert cli.main(["table2", "--seeds", "2", "--out", str(out), "--no-progress"]) == 0

    markdown = (out / "table2.md").read_text()
    lines = markdown.splitlines()
    assert lines[0].startswith("# Table 2")
    table = [line for line in lines if line.startswith("|")]
    header, separator, *rows = table
    assert "brute force" in header
    assert "rel. error" in header
    assert set(separator) <= set("|-: ")
    assert len(rows) == 6
    assert sum("normalised" in row and "un-normalised" not in row for row in rows) == 3
    assert sum("un-normalised" in row for row in rows) == 3

    frame = pd.read_csv(out / "table2.csv")
    assert len(frame) == 6
    assert (frame["seeds"] == 2).all()
    assert set(frame["m = m'"]) == {2, 3}
    numbers = frame.select_dtypes("number")
    assert {"brute force", "random guess", "Algorithm 1"} <= set(numbers.columns)
    assert np.isfinite(numbers.to_numpy()).all()
    # Brute force is the optimum over hard labelings; random guess is far from it.
    assert (frame["brute force"] < frame["random guess"]).all()

    printed = capsys.readouterr().out
    assert "wrote" in printed and "table2.csv" in printed


@pytest.mark.parametrize("seeds", ["0", "-3", "two"])
def test_table2_rejects_bad_seeds(seeds, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["table2", "--seeds", seeds, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--seeds" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


# --- The parser: fast help, validated names, documented options -------------------------------

COMMANDS = [module.__name__.rsplit(".", 1)[1].replace("_", "-") for module in commands.COMMANDS]
HEAVY = (
    "torch",
    "mlflow",
    "pandas",
    "numpy",
    "matplotlib",
    "scipy",
    "submitit",
    "comixup",
    "baselines",
    "benchmarks.runner.train",
    "benchmarks.tables.",  # the registry itself (benchmarks.tables) is light; no table loads
)
"""What building the parser must not import: it would make ``--help`` take seconds."""

HELP_SCRIPT = """
import sys
from benchmarks.cli import main

def parse(argv):
    try:
        main(argv)
    except SystemExit as exit:
        print(argv, "exit", exit.code, file=sys.stderr)

parse(["--help"])
for command in sys.argv[1:]:
    parse([command, "--help"])
parse(["train", "--method", "no-such-method"])
heavy = sorted(name for name in sys.modules if name.startswith(HEAVY))
print("HEAVY", heavy, file=sys.stderr)
"""


def test_help_of_every_command_imports_nothing_heavy():
    script = f"HEAVY = {HEAVY!r}\n{HELP_SCRIPT}"
    done = subprocess.run(
        [sys.executable, "-c", script, *COMMANDS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr, done.stderr
    assert done.stderr.count("exit 0") == len(COMMANDS) + 1, done.stderr
    assert "exit 2" in done.stderr and "invalid choice: 'no-such-method'" in done.stderr
    # Every command's help ends with examples of that command.
    assert done.stdout.count("examples:") == len(COMMANDS) + 1
    for command in COMMANDS:
        assert f"comixup-bench {command} " in done.stdout, command


def _imported(argv: list[str]) -> set[str]:
    """The modules ``python -m benchmarks.cli *argv`` imports, from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "benchmarks.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}  # the first is the header


@pytest.mark.parametrize("argv", [["--help"], *([command, "--help"] for command in COMMANDS)])
def test_help_as_typed_imports_no_torch_pandas_mlflow_or_matplotlib(argv):
    imported = _imported(argv)
    assert "benchmarks.commands" in imported and "benchmarks.methods" in imported  # it works
    assert sorted(name for name in imported if name.startswith(HEAVY)) == []


def test_help_marks_each_shortcut_with_the_command_it_is_a_shortcut_of(capsys):
    from benchmarks.commands._common import SHORTCUTS

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    lines = " ".join(capsys.readouterr().out.split())
    assert set(SHORTCUTS) <= set(COMMANDS)
    for shortcut, of in SHORTCUTS.items():
        assert f"[= {of}]" in lines, shortcut
        target, *selection = of.split(",")[0].split()
        assert target in COMMANDS and target not in SHORTCUTS, of
        if selection:  # e.g. table speech: an experiment the command accepts
            subparsers = _subparsers(cli.get_parser())
            assert subparsers[target].parse_args(selection).experiment == selection[0]
    assert lines.count("[= ") == len(SHORTCUTS) + 1  # and the description that explains it


def _refused(argv: list[str], capsys) -> str:
    """Parse ``argv``, expecting argparse's refusal (exit 2); returns what it printed."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_option_has_a_help_text_and_every_command_an_example():
    subparsers = _subparsers(cli.get_parser())
    assert sorted(subparsers) == sorted(COMMANDS)
    for name, parser in subparsers.items():
        assert parser.epilog and f"comixup-bench {name}" in parser.epilog, name
        for action in parser._actions:
            assert action.help, f"{name} {action.option_strings} has no help"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["train", "--method", "mixup"], "--method"),
        (["train", "--method", "cutmix", "--model", "resnet18"], "--model"),
        (["train", "--method", "cutmix", "--dataset", "cifar10"], "--dataset"),
        (["compare", "--methods", "vanilla", "mixup"], "--methods"),
        (["compare", "--model", "vgg16"], "--model"),
        (["timing", "--methods", "co_mixup"], "--methods"),
        (["timing", "--model", "resnet18"], "--model"),
        (["table5", "--scale", "tiny"], "--scale"),
        (["table", "speeches", "--scale", "smoke"], "EXPERIMENT"),
        (["sweep", "table5", "--scale", "smoke"], "EXPERIMENT"),
    ],
)
def test_unknown_names_are_refused_before_anything_runs(argv, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a run that did start would leave mlflow.db or reports/ here
    error = _refused(argv, capsys)
    assert flag in error and "invalid choice" in error
    assert not any(tmp_path.iterdir())


def test_resume_and_fresh_exclude_each_other(capsys):
    error = _refused(["train", "--method", "vanilla", "--resume", "--fresh"], capsys)
    assert "not allowed with argument" in error


@pytest.mark.parametrize("override", ["epochs", "=3", "  =3"])
def test_a_set_without_key_and_value_is_refused(override, capsys):
    assert "--set" in _refused(["train", "--method", "vanilla", "--set", override], capsys)


def test_options_apply_in_order_shortcuts_then_set_then_switches():
    argv = ["train", "--method", "cutmix", "--epochs", "2", "--set", "epochs=3"]
    argv += ["--set", "download=false", "--download", "--set", "method.alpha=0.5"]
    args = cli.get_parser().parse_args(argv)
    assert _training.overrides(args) == [
        'method="cutmix"',
        "epochs=2",
        "epochs=3",
        "download=false",
        "method.alpha=0.5",
        "download=true",
    ]
    config = _training.train_config(args)
    assert (config.method, config.epochs, config.download) == ("cutmix", 3, True)
    assert config.method_settings == {"alpha": 0.5}
    assert config.dataset == "builtin"


# --- The commands' names and defaults agree with the tables ---------------------------------


def test_table5_reads_registered_methods_and_the_speech_presets_models():
    from benchmarks.configs import PRESETS
    from benchmarks.methods import METHODS
    from benchmarks.models import MODELS
    from benchmarks.sweep.experiments import EXPERIMENTS
    from benchmarks.tables import table5

    assert set(table5.METHODS) <= set(METHODS) and set(table5.MODELS) <= set(MODELS)
    speech = EXPERIMENTS["speech"]
    for setting in (*speech.settings, *speech.smoke_settings):
        assert setting.model in table5.MODELS
        assert PRESETS[setting.dataset].model in table5.MODELS


def test_timing_offers_the_labeling_backends():
    from benchmarks.commands import timing as timing_command
    from benchmarks.runner import timing
    from benchmarks.runner.batch_timer import PHASES
    from benchmarks.tables import timing_table
    from comixup.labeling import BACKENDS

    assert timing_command.BACKENDS == timing.BACKENDS == timing_table.BACKENDS == BACKENDS
    assert timing_table.PHASES == PHASES


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def test_defaults_shown_in_help_equal_the_real_ones():
    import torch

    from benchmarks.analysis import figure2, table2, table3, table4
    from benchmarks.commands import table2 as table2_command
    from benchmarks.commands import timing as timing_command
    from benchmarks.configs import PRESETS
    from benchmarks.runner import timing

    assert _default(table2.run, "seeds") == table2_command.SEEDS
    assert _default(table4.run, "seeds") == _analysis.SEEDS
    assert _default(figure2.run, "trials") == _analysis.TRIALS
    assert _analysis.SIZES == table3.SIZES == _default(table4.run, "sizes")
    assert _analysis.LEVELS == figure2.LEVELS
    setup = timing.TimingSetup()
    assert (setup.model, setup.batch_size) == (timing_command.MODEL, timing_command.BATCH_SIZE)
    gpu = timing.default_setup(torch.device("cuda"))
    cpu = timing.default_setup(torch.device("cpu"))
    assert {"GPU": (gpu.batches, gpu.warmup), "CPU": (cpu.batches, cpu.warmup)} == (
        timing_command.BATCHES
    )
    assert set(timing_command.SETUP_FIELDS) <= {field.name for field in fields(setup)}
    assert set(_training.SHORTCUTS + _training.SWITCHES) <= {
        field.name for field in fields(PRESETS["builtin"])
    }
