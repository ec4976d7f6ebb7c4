"""A run's state as every backend reports it: task states, task and run statuses."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from flowyard._json_output import SCHEMA_VERSION as JSON_SCHEMA_VERSION


class TaskState(str, enum.Enum):
    """Node phases as Argo names them, so a local run reads like a cluster run."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"  # a condition was false
    OMITTED = "Omitted"  # not run: an upstream failed, or the run stopped

    @property
    def done(self) -> bool:
        return self not in _NOT_DONE

    @property
    def ok(self) -> bool:
        return self in _OK


# Sets made once: on Python 3.11 each read of a member off the class costs 150 ns, and runners ask
# every task's state whether it is ok.
_NOT_DONE = frozenset((TaskState.PENDING, TaskState.RUNNING))
_OK = frozenset((TaskState.SUCCEEDED, TaskState.SKIPPED))


SYMBOLS = {
    TaskState.PENDING: "◷",
    TaskState.RUNNING: "●",
    TaskState.SUCCEEDED: "✔",
    TaskState.FAILED: "✖",
    TaskState.ERROR: "⚠",
    TaskState.SKIPPED: "○",
    TaskState.OMITTED: "○",
}


class _Frozen(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)


@dataclass(slots=True)
class TaskStatus:
    """One task's state in a :class:`RunStatus`; read it, do not change it.

    A slotted dataclass, not a pydantic model: a run has one per task, and making a model cost
    3 µs each, a third of a no-op task. ``RunStatus`` validates these when it is read from JSON or
    given mappings, and takes instances (a backend's own subclass too) as they are; it serialises
    the fields below and nothing a subclass adds.
    """

    step: str
    item: int | None = None
    state: TaskState = TaskState.PENDING
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    attempts: int = 0
    exit_code: int | None = None
    message: str = ""
    cached: bool = False

    def __post_init__(self) -> None:
        if type(self.state) is not TaskState:  # an engine's phase given as text: "Succeeded"
            self.state = TaskState(self.state)

    @property
    def key(self) -> str:
        return task_key(self.step, self.item)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class RunStatus(_Frozen):
    run_id: str
    pipeline: str
    backend: str
    state: TaskState
    started_at: float | None = None
    finished_at: float | None = None
    tasks: tuple[TaskStatus, ...] = ()
    message: str = ""
    notices: tuple[str, ...] = ()
    outputs: dict[str, Any] = {}
    location: str | None = None  # run directory, or the engine's URL
    flowyard_version: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def exit_code(self) -> int:
        return 0 if self.state == TaskState.SUCCEEDED else 1

    def summary_json(self) -> dict[str, Any]:
        """The ``--json`` form: run id, status, per-task status and duration, outputs."""
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "backend": self.backend,
            "status": self.state.value,
            "duration_seconds": round_seconds(self.duration),
            "message": self.message,
            "location": self.location,
            "notices": list(self.notices),
            "outputs": self.outputs,
            "tasks": [  # inlined (no .duration, no .value: an enum property): 10,000 tasks stay cheap
                {
                    "step": t.step,
                    "item": t.item,
                    "status": t.state._value_,
                    "duration_seconds": (
                        None
                        if t.started_at is None or t.finished_at is None
                        else round(t.finished_at - t.started_at, 4)
                    ),
                    "attempts": t.attempts,
                    "exit_code": t.exit_code,
                    "cached": t.cached,
                    "message": t.message,
                }
                for t in self.tasks
            ],
        }


def round_seconds(x: float | None) -> float | None:
    """A duration as the JSON forms give it: to 0.1 ms."""
    return None if x is None else round(x, 4)


def task_key(step: str, item: int | None) -> str:
    """``activator`` or ``activator[3]``: how a task is named in messages and journals."""
    return step if item is None else f"{step}[{item}]"


def epoch_seconds(value: Any) -> float | None:
    """An engine's timestamp (RFC 3339 text, ``Z`` included, or a datetime) as epoch seconds."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def aggregate_state(states: Iterable[TaskState]) -> TaskState:
    """A fanned-out step's state from its items' states.

    A step with items omitted (a stop cut it short) is Omitted even when some of its items
    succeeded: it did not do all it was asked to, so it never reads as Succeeded.
    """
    s = set(states)
    if not s:
        return TaskState.PENDING
    for state in (TaskState.RUNNING, TaskState.ERROR, TaskState.FAILED):
        if state in s:
            return state
    if TaskState.PENDING in s:
        return TaskState.RUNNING if (s - {TaskState.PENDING}) else TaskState.PENDING
    if s == {TaskState.SKIPPED}:
        return TaskState.SKIPPED
    if TaskState.OMITTED in s:
        return TaskState.OMITTED
    return TaskState.SUCCEEDED
