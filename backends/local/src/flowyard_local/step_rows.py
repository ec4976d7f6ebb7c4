"""The scheduler's steps as core's progress rows (``flowyard.execution.progress``), and its events as calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowyard.execution.progress import Progress, StepRow
from flowyard.runs import TaskState, aggregate_state

if TYPE_CHECKING:
    from flowyard_local.runner import StepState
    from flowyard_local.tasks import TaskResult


def step_state(st: StepState) -> TaskState:
    """The state a step shows: its outcome once settled, else what its tasks so far add up to."""
    if st.outcome is not None:
        return st.outcome
    if st.phase == "waiting":
        return TaskState.PENDING
    states = [r.state for r in st.results.values()]
    if st.phase == "active" and (st.running or st.next < st.count):
        return TaskState.RUNNING
    return aggregate_state(states) if states else TaskState.SUCCEEDED


def step_row(st: StepState, message: str | None = None) -> StepRow:
    return StepRow(
        name=st.ir.name,
        state=step_state(st),
        total=st.count if st.phase != "waiting" else None,
        done=st.succeeded,
        running=st.running,
        failed=st.not_ok,
        message=st.message if message is None else message,
    )


def progress_events(progress: Progress) -> Any:
    """The scheduler's ``on_event(kind, data)`` turned into the progress view's calls."""

    def on_event(kind: str, data: Any) -> None:
        if kind == "failure":
            r: TaskResult = data
            if r.state in (TaskState.FAILED, TaskState.ERROR) and r.item is not None:  # a step's own: at its end
                progress.task_failed(f"{r.step}[{r.item}]", r.state, r.message)
        elif kind == "step":
            st: StepState = data
            if st.phase == "active":
                progress.step_started(step_row(st))
            elif st.phase == "done":
                own = st.results.get(None)
                message = st.message or (own.message if own is not None and not own.state.ok else "")
                progress.step_ended(step_row(st, message))

    return on_event
