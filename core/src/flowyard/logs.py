"""Reading a local run's task logs (``flowyard logs``), whichever backend wrote them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from flowyard.errors import FlowyardError
from flowyard.runs import RunDirectory, TaskState


def _task_dirs(run: RunDirectory, step: str | None, item: int | None) -> list[tuple[str, Path]]:
    tasks = run.path / "tasks"
    if not tasks.is_dir():
        return []
    found = []
    for step_dir in sorted(p for p in tasks.iterdir() if p.is_dir()):
        if step is not None and step_dir.name != step:
            continue
        items = sorted(p for p in step_dir.iterdir() if p.is_dir() and p.name.isdigit())
        if items:
            for p in items:
                if item is None or int(p.name) == item:
                    found.append((f"{step_dir.name}[{int(p.name)}]", p))
        elif item is None:
            found.append((step_dir.name, step_dir))
    if step is not None and not found:
        raise FlowyardError(
            f"run {run.run_id!r} has no logs for step {step!r}" + (f" item {item}" if item is not None else "")
        )
    return found


def read_run_logs(run: RunDirectory, step: str | None = None, item: int | None = None) -> Iterator[str]:
    """Each task's stdout then stderr, prefixed with the task's name."""
    for name, folder in _task_dirs(run, step, item):
        for stream in ("stdout", "stderr"):
            path = folder / f"{stream}.log"
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                yield f"{name}{'' if stream == 'stdout' else ' (stderr)'}: {line}"


def follow_run_logs(
    run: RunDirectory, step: str | None = None, item: int | None = None, poll: float = 0.2
) -> Iterator[str]:
    """Like ``tail -f`` over every task's logs, until the run's status says it ended."""
    offsets: dict[Path, int] = {}
    while True:
        ended = False
        try:
            ended = run.read_status().state not in (TaskState.RUNNING, TaskState.PENDING)
        except FlowyardError:
            ended = False
        for name, folder in _task_dirs(run, None, None) if step is None else _safe_dirs(run, step, item):
            for stream in ("stdout", "stderr"):
                path = folder / f"{stream}.log"
                if not path.exists():
                    continue
                with open(path, "rb") as f:
                    f.seek(offsets.get(path, 0))
                    data = f.read()
                    cut = data.rfind(b"\n") + 1
                    offsets[path] = offsets.get(path, 0) + cut
                for line in data[:cut].decode("utf-8", errors="replace").splitlines():
                    yield f"{name}{'' if stream == 'stdout' else ' (stderr)'}: {line}"
        if ended:
            return
        time.sleep(poll)


def _safe_dirs(run: RunDirectory, step: str, item: int | None) -> list[tuple[str, Path]]:
    try:
        return _task_dirs(run, step, item)
    except FlowyardError:
        return []  # the step has not started yet
