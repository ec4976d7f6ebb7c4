"""The run journal's format (``journal.jsonl``): encoding task events, and reading them back.

One module for both directions, so a writer (the local runner's :class:`flowyard.execution.journal.Journal`)
and every reader (resume, provenance, status) agree on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from flowyard.runs.status import TaskState


class StoredFile(Protocol):
    """An output file as the journal names it: its key in the artifact store, and its digest."""

    @property
    def key(self) -> str: ...

    @property
    def sha256(self) -> str | None: ...


class JournalTask(Protocol):
    """What a finished task tells the journal (the local runner's ``TaskResult`` is one)."""

    @property
    def step(self) -> str: ...
    @property
    def item(self) -> int | None: ...
    @property
    def state(self) -> TaskState: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def finished_at(self) -> float | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def cached(self) -> bool: ...
    @property
    def values(self) -> Mapping[str, Any]: ...
    @property
    def files(self) -> Mapping[str, StoredFile]: ...
    @property
    def missing(self) -> Mapping[str, list[int]]: ...


def encode_task(task: JournalTask) -> dict[str, Any]:
    """One task's ``{"t": "task"}`` event; an optional key is left out when empty."""
    event: dict[str, Any] = {
        "t": "task",
        "step": task.step,
        "item": task.item,
        "state": task.state,  # a str enum: encodes as its value
        "started": task.started_at,
        "finished": task.finished_at,
        "attempts": task.attempts,
        "exit": task.exit_code,
    }
    if task.message:
        event["msg"] = task.message
    if task.values:
        event["values"] = task.values
    if task.files:
        event["files"] = {k: [f.key, f.sha256] for k, f in task.files.items()}
    if task.cached:
        event["cached"] = True
    if task.missing:
        event["missing"] = task.missing
    return event


def encode_tasks(tasks: Sequence[JournalTask]) -> dict[str, Any]:
    """One event for tasks of one step that finished together, as columns (:data:`TASK_COLUMNS`).

    Read back by :func:`read_journal` as one task event each. A line per task cost more than running
    a no-op task; columns encode in one pass, keys written once.
    """
    if len(tasks) == 1:
        return encode_task(tasks[0])
    event: dict[str, Any] = {
        "t": "tasks",
        "step": tasks[0].step,
        "item": [r.item for r in tasks],
        "state": [r.state for r in tasks],
        # times as whole microseconds: printing an epoch float cost more than the rest of the line
        "started_us": [None if r.started_at is None else int(r.started_at * 1e6 + 0.5) for r in tasks],
        "finished_us": [None if r.finished_at is None else int(r.finished_at * 1e6 + 0.5) for r in tasks],
        "attempts": [r.attempts for r in tasks],
        "exit": [r.exit_code for r in tasks],
    }
    if any(r.message for r in tasks):
        event["msg"] = [r.message or None for r in tasks]
    if any(r.values for r in tasks):
        event["values"] = [r.values or None for r in tasks]
    if any(r.files for r in tasks):
        event["files"] = [{k: [f.key, f.sha256] for k, f in r.files.items()} or None for r in tasks]
    if any(r.cached for r in tasks):
        event["cached"] = [r.cached or None for r in tasks]
    if any(r.missing for r in tasks):
        event["missing"] = [r.missing or None for r in tasks]
    return event


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete event of a run's ``journal.jsonl``; a line cut short by a crash is skipped.

    Task events look like ``{"t": "task", "step", "item", "state", "started", "finished",
    "attempts", "exit", "values"?, "files"?: {output: [key, sha256]}, "msg"?, "cached"?,
    "missing"?}``. Tasks of one step that finished together may share a ``{"t": "tasks"}`` line that
    holds each of those keys as a column, one entry per task (see :data:`TASK_COLUMNS`); it is read
    back here as one task event per entry, so readers only ever see task events.
    """
    if not path.exists():
        return []
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # torn tail
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("t") == "tasks":
                events += task_events(event)
            else:
                events.append(event)
    return events


TASK_COLUMNS = (
    "item",
    "state",
    "started",
    "finished",
    "attempts",
    "exit",
    "msg",
    "values",
    "files",
    "cached",
    "missing",
)
"""The columns of a grouped ``tasks`` journal line; the optional ones (``msg`` on) may be absent, and
``started``/``finished`` may come as ``started_us``/``finished_us``."""


def task_events(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A grouped ``tasks`` line as the task events it stands for (an optional column's null: absent).

    Its times may be whole microseconds (``started_us``, ``finished_us``): read back as seconds.
    """
    columns = [(key, group[key]) for key in TASK_COLUMNS if key in group]
    for key in ("started", "finished"):
        if f"{key}_us" in group:
            columns.append((key, [None if us is None else us / 1e6 for us in group[f"{key}_us"]]))
    events = []
    for i in range(len(group["item"])):
        event: dict[str, Any] = {"t": "task", "step": group["step"]}
        for key, column in columns:
            value = column[i]
            if value is not None or key in ("item", "started", "finished", "exit"):
                event[key] = value
        events.append(event)
    return events
