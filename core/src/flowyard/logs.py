"""Reading a local run's task logs (``flowyard logs``), whichever backend wrote them."""

from __future__ import annotations

import codecs
import os
import stat
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
            prefix = f"{name}{'' if stream == 'stdout' else ' (stderr)'}: "
            for line in _lines(path):
                yield prefix + line


def _lines(path: Path, chunk: int = 1 << 20) -> Iterator[str]:
    """The file's lines as ``str.splitlines`` cuts them, read a chunk at a time (a log may be gigabytes).

    A line longer than a chunk comes out in pieces of a chunk: memory stays bounded either way.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carry = ""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device a step left for its log: never read
        os.close(fd)
        return
    os.set_blocking(fd, True)
    with open(fd, "rb") as f:
        while True:
            data = f.read(chunk)
            text = carry + decoder.decode(data, final=not data)
            if not data:
                yield from text.splitlines()
                return
            lines = text.splitlines(keepends=True)
            # the last line may go on in the next chunk (a "\r" may be half of a "\r\n")
            carry = lines.pop() if lines and (lines[-1][-1] not in _LINE_ENDS or lines[-1][-1] == "\r") else ""
            if len(carry) > chunk:  # a line longer than a chunk: out it goes, in pieces
                lines.append(carry)
                carry = ""
            for line in lines:
                yield line.splitlines()[0]


_LINE_ENDS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines cuts


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
                yield from _new_lines(path, offsets, f"{name}{'' if stream == 'stdout' else ' (stderr)'}: ")
        if ended:
            return
        time.sleep(poll)


def _new_lines(path: Path, offsets: dict[Path, int], prefix: str, chunk: int = 1 << 20) -> Iterator[str]:
    """The whole lines written to ``path`` since the offset last seen, a chunk at a time."""
    with open(path, "rb") as f:
        while True:
            f.seek(offsets.get(path, 0))
            data = f.read(chunk)
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) == chunk:  # a line longer than a chunk: out it goes, in pieces
                cut = chunk
            offsets[path] = offsets.get(path, 0) + cut
            for line in data[:cut].decode("utf-8", errors="replace").splitlines():
                yield prefix + line
            if len(data) < chunk:
                return


def _safe_dirs(run: RunDirectory, step: str, item: int | None) -> list[tuple[str, Path]]:
    try:
        return _task_dirs(run, step, item)
    except FlowyardError:
        return []  # the step has not started yet
