"""The `comixup-bench` command line: the table2 command end to end, on two seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import cli


def test_table2_writes_markdown_and_csv(tmp_path, capsys):
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
