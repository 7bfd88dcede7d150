"""Two processes that find a set missing at once build it once, and neither sees it replaced
while it reads it (seen in a side-by-side sweep before the lock: one run's spoken-words set was
deleted under it by the other's build)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from benchmarks.data.boxes import MARKER

BUILDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from benchmarks.data.boxes import write_once

    folder, log = Path(sys.argv[1]), Path(sys.argv[2])

    def write(staging):
        with log.open("a") as handle:
            handle.write("built\\n")
        time.sleep(1.0)  # long enough for the other process to arrive meanwhile
        (staging / "item.txt").write_text("ready")

    result = write_once(folder, {"version": 1}, write)
    print((result / "item.txt").read_text())
    """
)


def test_two_processes_build_a_set_once_and_both_read_it(tmp_path):
    folder, log = tmp_path / "set", tmp_path / "builds.log"
    script = tmp_path / "build.py"
    script.write_text(BUILDER)
    command = [sys.executable, str(script), str(folder), str(log)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["ready", "ready"]
    assert log.read_text().splitlines() == ["built"]
    assert sorted(path.name for path in Path(folder).iterdir()) == [MARKER, "item.txt"]
