"""Each run's state, read from MLflow: the runs carrying its key tag, the newest finished one
first.

``done``: an MLflow run with the key FINISHED. Else the newest run with the key decides:
``running`` (RUNNING: training now, or killed so hard that it could not say so),
``failed`` (FAILED), ``interrupted`` (KILLED: stopped by a signal; resumes), and ``to do``
when no run has the key. Every state but done is launched again by ``sweep``, and the rerun
continues the same MLflow run from the run's checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from benchmarks.sweep import tags
from benchmarks.sweep.experiments import Run

DONE, RUNNING, FAILED, INTERRUPTED, TODO = "done", "running", "failed", "interrupted", "to do"
_BY_STATUS = {"FINISHED": DONE, "RUNNING": RUNNING, "FAILED": FAILED, "KILLED": INTERRUPTED}


@dataclass(frozen=True)
class RunState:
    run: Run
    state: str
    run_id: str | None = None
    metrics: dict[str, float] | None = None
    error: str | None = None


def sweep_runs(client: MlflowClient, experiment: str) -> list:
    """Every MLflow run tagged with sweep ``experiment``, in every MLflow experiment."""
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    if not ids:
        return []
    found, token = [], None
    while True:
        page = client.search_runs(
            ids,
            filter_string=f"tags.`{tags.EXPERIMENT}` = '{experiment}'",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1000,
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def run_states(runs: Sequence[Run], client: MlflowClient | None = None) -> list[RunState]:
    """The state of each of ``runs`` (all of one experiment), in their order."""
    client = client or MlflowClient()
    experiments = {run.experiment for run in runs}
    by_key: dict[str, list] = {}
    for name in experiments:
        for mlflow_run in sweep_runs(client, name):
            by_key.setdefault(mlflow_run.data.tags.get(tags.KEY), []).append(mlflow_run)
    return [_state(run, by_key.get(run.key, [])) for run in runs]


def _state(run: Run, found: list) -> RunState:
    if not found:
        return RunState(run, TODO)
    finished = [r for r in found if r.info.status == "FINISHED"]
    chosen = finished[0] if finished else found[0]  # newest first
    return RunState(
        run,
        _BY_STATUS.get(chosen.info.status, RUNNING),
        chosen.info.run_id,
        dict(chosen.data.metrics),
        chosen.data.tags.get("error"),
    )


def status_table(states: Sequence[RunState], *, launching: bool) -> str:
    """Every run's state, one row each, under a line counting those done (``launching``: and
    saying how many a launch would start)."""
    import pandas as pd

    variants = any(s.run.changes for s in states)
    rows = [
        {
            "setting": s.run.setting,
            "method": s.run.method,
            **({"variant": ", ".join(s.run.changes)} if variants else {}),
            "seed": s.run.seed,
            "state": s.state,
            "MLflow run": s.run_id or "",
            "error": (s.error or "")[:60] if s.state != DONE else "",
        }
        for s in states
    ]
    frame = pd.DataFrame(rows)
    done = sum(s.state == DONE for s in states)
    head = f"{done} of {len(states)} runs done"
    if launching:
        head += f"; a launch would start the other {len(states) - done}"
    return head + ".\n" + frame.to_string(index=False)
