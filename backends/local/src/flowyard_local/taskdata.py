"""What the scheduler and a task hand each other: a task's plan and resolved inputs, its result, and
the two ways it fails. Plain values, shared by the runner's modules, so none imports another for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard import templates
from flowyard.ir import StepIR
from flowyard.runs import TaskState, TaskStatus
from flowyard.runs.journal import encode_task, encode_tasks

# Reading a member off an Enum class costs 150 ns on Python 3.11 (a plain class attribute, 25 ns),
# and a task's way through the runner read a dozen: the runner names them once here.
RUNNING, SUCCEEDED, FAILED, ERROR = TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.ERROR
SKIPPED, OMITTED = TaskState.SKIPPED, TaskState.OMITTED


class TaskFailure(Exception):
    """The task failed in a way retries may fix (non-zero exit, exception, missing output)."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TaskError(Exception):
    """The task cannot run as specified (a missing secret, an item without the field): no retry."""


@dataclass(frozen=True)
class FileRef:
    """An artifact in the store, with its digest."""

    key: str
    sha256: str | None = None
    source: str = ""


@dataclass(slots=True)
class ResolvedInput:
    name: str
    type: str
    value: Any = None
    file: FileRef | None = None
    files: list[tuple[int, FileRef | None]] | None = None  # fan-in of files, item order
    source: str = ""
    failed_items: tuple[int, ...] = ()


@dataclass(slots=True)
class TaskPlan:
    step: StepIR
    item: int | None
    item_value: Any
    inputs: dict[str, ResolvedInput]
    run_status: str = "Succeeded"  # for ${{ run.status }} in the on-exit step
    collects: bool = False  # some input is a fan-in


@dataclass(slots=True)
class TaskResult(TaskStatus):
    """How a task ended: its status as the run reports it, and what the runner keeps beside it."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)
    infrastructure: bool = False
    missing: dict[str, list[int]] = field(default_factory=dict)  # fan-in inputs: items that failed

    def journal_event(self) -> dict[str, Any]:
        return encode_task(self)

    @staticmethod
    def journal_group(results: list[TaskResult]) -> dict[str, Any]:
        """Tasks of one step that finished together, as one event (:func:`flowyard.runs.journal.encode_tasks`)."""
        return encode_tasks(results)

    @classmethod
    def from_journal(cls, event: Mapping[str, Any]) -> TaskResult:
        return cls(
            step=event["step"],
            item=event.get("item"),
            state=TaskState(event["state"]),
            started_at=event.get("started"),
            finished_at=event.get("finished"),
            attempts=event.get("attempts", 0),
            exit_code=event.get("exit"),
            message=event.get("msg", ""),
            values=event.get("values", {}),
            files={k: FileRef(v[0], v[1]) for k, v in event.get("files", {}).items()},
            cached=event.get("cached", False),
        )


def dig(value: Any, fields: tuple[str, ...], what: str = "item") -> Any:
    """:func:`flowyard.templates.dig`, failing the task when the field is not there."""
    try:
        return templates.dig(value, fields, what)
    except templates.MissingFieldError as e:
        raise TaskError(str(e)) from None
