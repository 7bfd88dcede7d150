"""How runs end and resume, as a user and a cluster see it: every ending recorded truthfully in
MLflow, SIGTERM and Ctrl-C on a real ``comixup-bench train`` process, kills before the first
checkpoint and between an epoch's records and its checkpoint, the resume key, unreadable
checkpoints and lost stores, user errors as one line with exit status 2, and the timing summary
across a resume."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from benchmarks.cli import main
from benchmarks.configs import apply_overrides, preset
from benchmarks.errors import UserError
from benchmarks.runner import interrupts
from benchmarks.runner import train as train_module
from benchmarks.runner.batch_timer import BatchTimer
from benchmarks.runner.checkpoint import checkpoint_path, load, save_atomic
from benchmarks.runner.train import RunResult, train
from benchmarks.sweep.compare import comparison_table, notes

KILLABLE = Path(__file__).parents[1] / "killable_run.py"
TINY = [
    "epochs=3",
    "batch_size=20",
    "limit_batches=2",
    "limit_eval_batches=2",
    "width=4",
    "warmup_batches=1",
]


def tiny(method: str = "vanilla", *extra: str):
    return apply_overrides(preset("builtin"), [f"method={method}", *TINY, *extra])


def runs(client: MlflowClient, experiment: str = "builtin"):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def assert_one_point_per_step(client: MlflowClient, run_id: str, epochs: int, batches: int):
    """Every metric of the run: epoch metrics at steps 0..epochs-1, per-batch metrics at
    0..epochs*batches-1, each step exactly once."""
    for key in client.get_run(run_id).data.metrics:
        steps = sorted(point.step for point in client.get_metric_history(run_id, key))
        expected = range(epochs * batches) if key.startswith("batch_") else range(epochs)
        assert steps == list(expected), key


def comparable(history: dict[str, list[float]]) -> dict[str, list[float]]:
    """The history without measured times, which differ between any two runs."""
    return {k: v for k, v in history.items() if not k.startswith("time") and k != "timed_batches"}


def said(err: str) -> list[str]:
    """The lines a command wrote to stderr, without MLflow's own INFO log lines."""
    return [line for line in err.strip().splitlines() if " INFO mlflow" not in line]


def default_interrupt() -> None:
    """Give the child SIGINT's default disposition: a job started in the background of a
    non-interactive shell (as CI may start the tests) inherits SIGINT ignored, and the runner
    rightly leaves an ignored SIGINT alone."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def child_env(uri: str) -> dict[str, str]:
    return os.environ | {"MLFLOW_TRACKING_URI": uri, "PYTHONUNBUFFERED": "1"}


# --- item 2: FINISHED only when training completed ---------------------------------------------


def test_an_error_after_the_run_starts_marks_it_failed_not_finished(store, tmp_path):
    (tmp_path / "mlruns").write_text("")  # the artifact folder cannot be created
    with pytest.raises(OSError):
        train(tiny(), checkpoint_root=tmp_path / "ckpt", progress=False)
    assert mlflow.active_run() is None
    (run,) = runs(MlflowClient(store))
    assert run.info.status == "FAILED"
    assert "NotADirectoryError" in run.data.tags["error"]


# --- item 3: SIGTERM and Ctrl-C on a real process ----------------------------------------------


SIGNAL_EPOCHS = 30
"""Long enough that a loaded machine cannot finish the run between its first checkpoint and the
signal (each epoch is one tiny batch, so the in-process rerun still takes seconds)."""
SIGNAL_RUN = [
    "train",
    "--method",
    "vanilla",
    "--epochs",
    str(SIGNAL_EPOCHS),
    "--limit-batches",
    "1",
]
SIGNAL_RUN += ["--width", "4", "--no-progress", "--set", "limit_eval_batches=1"]
SIGNAL_RUN += ["--set", "batch_size=20"]


def test_sigterm_and_ctrl_c_mark_the_run_killed_keep_the_checkpoint_and_resume(
    tmp_path, monkeypatch, capsys
):
    """A real ``comixup-bench train`` per signal (both at once, to save time), each in its own
    folder and store, signalled once its first checkpoint is on disk."""
    command = shutil.which("comixup-bench", path=str(Path(sys.executable).parent))
    cases = {signal.SIGTERM: 143, signal.SIGINT: 130}
    processes, killed = {}, {}
    for signum in cases:
        folder = tmp_path / signum.name
        folder.mkdir()
        env = child_env(f"sqlite:///{folder / 'mlflow.db'}")
        processes[signum] = subprocess.Popen(
            [command, *SIGNAL_RUN],
            cwd=folder,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_interrupt,
        )
    waiting = dict(processes)
    deadline = time.monotonic() + 240
    while waiting:  # signal each process as soon as its first checkpoint is on disk
        for signum, process in list(waiting.items()):
            if list((tmp_path / signum.name / "checkpoints").glob("*/last.pt")):
                process.send_signal(signum)
                del waiting[signum]
            else:
                assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.01)
    for signum, process in processes.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == cases[signum], err
        assert said(err) == [
            f"comixup-bench train: stopped by {signum.name}; the last checkpoint is kept: "
            "rerun the same command to resume."
        ]
        folder = tmp_path / signum.name
        client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
        (killed[signum],) = runs(client)
        assert killed[signum].info.status == "KILLED"
        assert signum.name in killed[signum].data.tags["interrupted"]
        (path,) = (folder / "checkpoints").glob("*/last.pt")
        assert 1 <= load(path).epoch < SIGNAL_EPOCHS  # intact, and written by the killed process
        assert not list(path.parent.glob("*.tmp"))

    folder = tmp_path / "SIGTERM"  # the rerun continues the killed run
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    assert main(SIGNAL_RUN) == 0
    capsys.readouterr()
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (resumed,) = runs(client)
    assert resumed.info.run_id == killed[signal.SIGTERM].info.run_id
    assert resumed.info.status == "FINISHED"
    assert_one_point_per_step(client, resumed.info.run_id, epochs=SIGNAL_EPOCHS, batches=1)


def test_a_signal_inside_a_deferred_block_waits_for_its_end():
    done = []
    with (
        pytest.raises(interrupts.RunInterrupted) as caught,
        interrupts.stop_on_signals(),
        interrupts.deferred(),
    ):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        done.append("written")
    assert done == ["written"] and interrupts.exit_status(caught.value) == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# --- items 4 and 5: killed between an epoch's records and its (first) checkpoint ----------------


def test_a_kill_before_the_first_checkpoint_resumes_into_the_same_run_with_one_point_per_step(
    store, tmp_path
):
    """SIGKILL after epoch 0's MLflow records, before its checkpoint: the rerun must find the
    run (no checkpoint names it) and must not log epoch 0 twice. (The soak test kills at every
    epoch, with checkpoints before.)"""
    overrides = ["method=cutmix", *TINY]
    killed = subprocess.run(
        [*(sys.executable, KILLABLE, tmp_path / "ckpt", json.dumps(overrides)),
         *("--die-before-checkpoint", "0")],
        cwd=tmp_path,
        env=child_env(store),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "checkpoint 0" in killed.stdout
    client = MlflowClient(store)
    (orphan,) = runs(client)
    assert orphan.info.status == "RUNNING"
    logged = client.get_metric_history(orphan.info.run_id, "test_top1_error")
    assert [point.step for point in logged] == [0]  # the killed epoch's records are in

    config = apply_overrides(preset("builtin"), overrides)
    resumed = train(config, checkpoint_root=tmp_path / "ckpt", progress=False)
    (run,) = runs(client)
    assert run.info.run_id == orphan.info.run_id == resumed.run_id
    assert run.info.status == "FINISHED"
    assert_one_point_per_step(client, resumed.run_id, epochs=3, batches=2)


# --- item 6: the resume key --------------------------------------------------------------------


def test_the_resume_key_ignores_download_workers_and_the_data_folder(tmp_path):
    base = apply_overrides(preset("cifar100"), ["method=cutmix", "data_dir=~/data"])
    same = [
        ["download=true"],
        ["workers=4"],
        [f"data_dir={Path('~/data').expanduser()}/"],
        ["data_dir=/elsewhere/cifar"],
    ]
    for changes in same:
        assert checkpoint_path(apply_overrides(base, changes)) == checkpoint_path(base), changes
    for changes in (["lr=0.1"], ["epochs=2"], ["method.alpha=0.5"], ["limit_eval_batches=3"]):
        assert checkpoint_path(apply_overrides(base, changes)) != checkpoint_path(base), changes


# --- item 10: unreadable checkpoints, lost stores ----------------------------------------------


def broken_checkpoints(tmp_path: Path) -> dict[str, bytes]:
    good = tmp_path / "good.pt"
    save_atomic(train_module.TrainState({}, {}, {}, {}, {}, 1, {}, "r", {}), good)
    data = good.read_bytes()

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled",))

    pickled = tmp_path / "pickle.pt"
    torch.save({"version": 2, "model": Payload()}, pickled)
    return {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage": os.urandom(300),
        "pickle": pickled.read_bytes(),
    }


def test_an_unreadable_checkpoint_names_the_file_and_says_to_start_over(tmp_path):
    for kind, content in broken_checkpoints(tmp_path).items():
        path = tmp_path / kind / "last.pt"
        path.parent.mkdir()
        path.write_bytes(content)
        with pytest.raises(UserError) as caught:
            load(path)
        message = str(caught.value)
        assert str(path) in message and "unreadable" in message, kind
        assert "--fresh" in message and "weights_only" not in message, kind


def test_the_command_reports_an_unreadable_checkpoint_in_one_line_and_fresh_starts_over(
    store, tmp_path, capsys
):
    args = ["train", "--method", "vanilla", "--epochs", "1", "--limit-batches", "1"]
    args += ["--width", "4", "--no-progress", "--set", "limit_eval_batches=1"]
    config = apply_overrides(preset("builtin"), ["method=vanilla", "epochs=1", "limit_batches=1"])
    config = apply_overrides(config, ["width=4", "limit_eval_batches=1"])
    path = checkpoint_path(config)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80\x02garbage")
    assert main(args) == 2
    err = said(capsys.readouterr().err)
    assert len(err) == 1 and str(path) in err[0] and "--fresh" in err[0]
    assert main([*args, "--fresh"]) == 0
    assert load(path).epoch == 1


def test_a_checkpoint_whose_store_is_gone_says_what_happened(store, tmp_path, monkeypatch, capsys):
    """A finished checkpoint (1 epoch) and an interrupted one (epoch 1 of 2), then a store
    without their runs."""
    args = ["train", "--method", "vanilla", "--limit-batches", "1", "--width", "4"]
    args += ["--no-progress", "--set", "limit_eval_batches=1"]
    assert main([*args, "--epochs", "1"]) == 0
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "_record", _record_then_stop)
        assert main([*args, "--epochs", "2"]) == 130
    capsys.readouterr()
    # A new, empty store (MLflow keeps the old SQLite file open in this process, so deleting
    # it would not show here): the store has lost the checkpoints' runs.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'new.db'}")
    for epochs in ("1", "2"):
        assert main([*args, "--epochs", epochs]) == 2
        err = said(capsys.readouterr().err)
        assert len(err) == 1
        assert "does not have" in err[0] and "--fresh" in err[0]
        assert "MLFLOW_TRACKING_URI" in err[0] and f"logged to {store}" in err[0]


_real_record = train_module._record


def _record_then_stop(run, epoch, metrics):
    _real_record(run, epoch, metrics)
    raise KeyboardInterrupt


# --- item 11: user errors in one line, exit 2; bugs keep their traceback -----------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--dataset", "cifar100", "--method", "comixup"], "--data-dir"),
        (["train", "--method", "vanilla", "--set", "nonsense=1"], "unknown setting"),
        (["compare", "--methods", "vanilla", "--set", "nonsense=1"], "unknown setting"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(store, tmp_path, capsys, argv, expected):
    assert main(argv) == 2
    err = said(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith(f"comixup-bench {argv[0]}: error: ")
    assert expected in err[0]
    assert not (tmp_path / "mlflow.db").exists()  # no run, not even a store


def test_an_unreachable_server_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    argv = ["train", "--method", "vanilla", "--epochs", "1", "--limit-batches", "1"]
    assert main([*argv, "--width", "4", "--no-progress"]) == 2
    err = said(capsys.readouterr().err)
    assert len(err) == 1 and "127.0.0.1:9 is unreachable" in err[0]


def test_a_bug_during_training_keeps_its_traceback_and_fails_the_run(store, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(train_module, "train_one_epoch", broken)
    argv = ["train", "--method", "vanilla", "--epochs", "1", "--limit-batches", "1"]
    with pytest.raises(ValueError, match="a bug") as caught:
        main([*argv, "--width", "4", "--no-progress"])
    assert not isinstance(caught.value, UserError)
    (run,) = runs(MlflowClient(store))
    assert run.info.status == "FAILED"


# --- item 12: tags, timing across a resume, short runs -----------------------------------------


def test_a_resumed_run_drops_the_interrupted_tag_times_every_epoch_and_ignores_incidentals(
    store, tmp_path
):
    """Ctrl-C in epoch 1, then a rerun with --download and another --data-dir (incidental:
    the same run resumes), which finishes without the interrupted tag and times all epochs."""
    config = tiny("vanilla")  # 3 epochs of 2 batches, 1 warm-up batch per process

    def stop(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 0):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint_root=tmp_path, progress=False, batch_hook=stop)
    client = MlflowClient(store)
    assert "interrupted" in runs(client)[0].data.tags
    again = apply_overrides(config, ["download=true", "data_dir=~/data/"])
    resumed = train(again, checkpoint_root=tmp_path, progress=False)
    (run,) = runs(client)
    assert resumed.run_id == run.info.run_id and run.info.status == "FINISHED"
    assert "interrupted" not in run.data.tags and "error" not in run.data.tags
    assert run.data.params["download"] == "false"  # the run keeps what it started with
    # epoch 0: 2 batches, 1 warm-up; epochs 1-2 after the resume: 4 batches, 1 warm-up
    assert resumed.metrics["timed_batches"] == 4
    assert run.data.metrics["timed_batches"] == 4


def test_a_run_shorter_than_its_warmup_reports_what_was_measured():
    timer = BatchTimer(torch.device("cpu"), warmup=5)
    for _ in range(3):
        with timer.phase("step"):
            sum(range(1000))
        timer.end_batch({})
    summary = timer.summary()
    assert summary["timed_batches"] == 3 and summary["timing_includes_warmup"] == 1
    assert summary["time_total_median_ms"] > 0
    result = RunResult("abcdef12", summary, {}, Path("x"))
    table = comparison_table({"vanilla": result})
    assert table["s / batch (median)"][0] > 0
    config = apply_overrides(preset("builtin"), ["limit_batches=1", "epochs=3"])
    assert "include the warm-up" in notes(config, {"vanilla": result})
    assert "warm-up" not in notes(config, {})


def test_the_main_jobs_table_says_its_short_schedule_under_trains_the_mixers():
    from benchmarks.sweep.experiments import REDUCED

    short = preset("boxed-digits")
    assert short.epochs < REDUCED["epochs"]
    assert "pipeline check, not a ranking" in notes(short)
    assert "pipeline check" not in notes(apply_overrides(short, [f"epochs={REDUCED['epochs']}"]))
    assert "pipeline check" not in notes(preset("builtin"))  # a set not measured so


# --- compare's methods side by side, stopped by a signal ----------------------------------------


SIDE_BY_SIDE = ["compare", "--dataset", "builtin", "--methods", "vanilla", "cutmix", "--jobs", "2"]
SIDE_BY_SIDE += SIGNAL_RUN[3:]  # the same tiny, long run as above, for each method


def test_sigterm_to_compare_stops_every_side_by_side_run_and_the_rerun_resumes_them(
    tmp_path, monkeypatch, capsys
):
    """A real ``comixup-bench compare --jobs 2``: SIGTERM to the command (as ``timeout`` or a
    scheduler sends it) reaches both runs, which stop KILLED with their checkpoints; the same
    command again resumes both into their own MLflow runs."""
    command = shutil.which("comixup-bench", path=str(Path(sys.executable).parent))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = subprocess.Popen(
        [command, *SIDE_BY_SIDE, "--out", "reports"],
        cwd=tmp_path,
        env=child_env(uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_interrupt,
    )
    deadline = time.monotonic() + 240
    while len(list((tmp_path / "checkpoints").glob("*/last.pt"))) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoints in time"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert said(err)[-1].startswith("comixup-bench compare: stopped by SIGTERM")
    client = MlflowClient(uri)
    killed = {run.data.params["method"]: run for run in runs(client)}
    assert set(killed) == {"vanilla", "cutmix"}
    for run in killed.values():
        assert run.info.status == "KILLED" and "SIGTERM" in run.data.tags["interrupted"]
    for path in (tmp_path / "checkpoints").glob("*/last.pt"):
        assert 1 <= load(path).epoch < SIGNAL_EPOCHS

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main([*SIDE_BY_SIDE, "--out", "reports"]) == 0
    assert (
        "The methods trained 2 at a time"
        in (tmp_path / "reports" / "compare-builtin.md").read_text()
    )
    resumed = {run.data.params["method"]: run for run in runs(client)}
    assert {m: r.info.run_id for m, r in resumed.items()} == {
        m: r.info.run_id for m, r in killed.items()
    }
    for run in resumed.values():
        assert run.info.status == "FINISHED"
        assert_one_point_per_step(client, run.info.run_id, epochs=SIGNAL_EPOCHS, batches=1)


def test_a_failing_run_lets_the_other_finish_and_names_its_method(store, tmp_path, monkeypatch):
    from benchmarks.sweep.compare import train_all

    monkeypatch.chdir(tmp_path)
    base = tiny("vanilla", "epochs=1")
    missing = {"dataset": "cifar100", "data_dir": str(tmp_path / "nowhere")}
    variants = {"vanilla": {}, "broken": missing}
    with pytest.raises(Exception) as raised:
        train_all(base, variants, progress=False, jobs=2)
    assert "while training broken" in "".join(getattr(raised.value, "__notes__", []))
    (finished,) = [r for r in runs(MlflowClient(store)) if r.info.status == "FINISHED"]
    assert finished.data.params["method"] == "vanilla"


def test_the_checkpoint_and_the_sweep_key_share_one_run_identity():
    from benchmarks.runner.identity import run_digest
    from benchmarks.sweep.experiments import expand

    run = expand("main", scale="smoke", seeds=1)[0]
    digest = run_digest(run.config)
    assert checkpoint_path(run.config).parent.name.endswith(f"-{digest[:8]}")
    assert run.key.endswith(f"/{digest[:10]}")
    moved = dataclasses.replace(run.config, data_dir="/elsewhere", workers=7, download=True)
    assert run_digest(moved) == digest
    assert run_digest(dataclasses.replace(run.config, lr=run.config.lr * 2)) != digest


# --- one door to MLflow, one trained-model loader ----------------------------------------------


def test_every_mlflow_run_is_opened_through_tracking_start_run():
    """``mlflow.start_run`` (or a client's ``create_run``) is called in runner/tracking.py
    alone: every run of the suite gets the store check, the experiment and its creation tags
    in one place."""
    import ast

    root = Path(__file__).parents[2] / "benchmarks"
    door = root / "runner" / "tracking.py"
    callers = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            opens = (
                isinstance(node, ast.Attribute) and node.attr in ("start_run", "create_run")
            ) or (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("mlflow")
                and any(alias.name == "start_run" for alias in node.names)
            )
            if opens and path != door and not _is_tracking_door(node):
                callers.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert not callers, f"MLflow runs opened outside benchmarks/runner/tracking.py: {callers}"


def _is_tracking_door(node) -> bool:
    """``tracking.start_run`` (the door itself, called through its module)."""
    import ast

    return (
        isinstance(node, ast.Attribute)
        and node.attr == "start_run"
        and isinstance(node.value, ast.Name)
        and node.value.id == "tracking"
    )


def test_the_trained_model_loader_reads_the_artifact_else_the_local_checkpoint(store, tmp_path):
    from benchmarks.runner.trained import load_trained

    result = train(tiny("cutmix", "epochs=1"), checkpoint_root=tmp_path / "ckpt", progress=False)
    trained = load_trained(result.run_id, checkpoint_root=tmp_path / "elsewhere")
    assert not trained.model.training and trained.dataset == "builtin"
    assert trained.describe() == "cutmix preactresnet18 on builtin"
    expected = load(result.checkpoint_path).model
    assert all(torch.equal(trained.model.state_dict()[k], v) for k, v in expected.items())
    # The store loses its artifacts: the local checkpoint that names the run stands in.
    client = MlflowClient(store)
    artifacts = Path(client.get_run(result.run_id).info.artifact_uri.removeprefix("file://"))
    shutil.rmtree(artifacts / "checkpoint")
    local = load_trained(result.run_id, checkpoint_root=tmp_path / "ckpt")
    assert all(torch.equal(local.model.state_dict()[k], v) for k, v in expected.items())
    with pytest.raises(UserError, match=r"has no checkpoint: no 'checkpoint/last\.pt' artifact"):
        load_trained(result.run_id, checkpoint_root=tmp_path / "elsewhere")
    with pytest.raises(UserError, match="has no run 0000"):
        load_trained("0" * 32)


def test_an_interrupted_pool_starts_no_queued_task(tmp_path):
    """SIGINT to a pool of one worker while its first task runs: the pool raises it, and the
    second task, which the executor had already queued for the next worker, never starts."""
    import functools
    import threading

    from benchmarks.sweep.launch import run_pool

    marks = [tmp_path / f"started{index}" for index in range(3)]
    tasks = [
        functools.partial(subprocess.run, ["sh", "-c", f"touch '{mark}'; sleep 60"], check=True)
        for mark in marks
    ]

    def interrupt_once_the_first_runs() -> None:
        deadline = time.monotonic() + 120
        while not marks[0].exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if marks[0].exists():  # never a stray SIGINT to pytest itself
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_the_first_runs, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(interrupts.RunInterrupted):
        run_pool(tasks, jobs=1, threads=1, ended=lambda *_: None)
    assert marks[0].exists()
    assert not marks[1].exists() and not marks[2].exists()
    assert time.monotonic() - started < 50, "the pool waited for a task it should not start"
