"""Reading a local run's task logs (``flowyard logs``), whichever backend wrote them.

A task's logs are its folder's ``stdout.log`` and ``stderr.log``, or its lines in its step's
``captured.jsonl`` (the local backend's in-process tasks: one line per attempt, ``{"item", "attempt",
"stdout", "stderr"}``, the newest first attempt of a task starting its logs afresh, a later attempt
adding ``--- attempt N ---`` and its output to each stream, as the files get them). Both read the same.
"""

from __future__ import annotations

import codecs
import itertools
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from flowyard.errors import FlowyardError
from flowyard.runs import RunDirectory, TaskState

CAPTURED_FILE = "captured.jsonl"


class CapturedLines:
    """Where each task's lines are in a step's ``captured.jsonl``: offsets only, read when shown."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where: dict[int | None, list[tuple[int, int]]] = {}
        offset = 0
        with open(path, "rb") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    item, attempt = record["item"], record["attempt"]
                except (ValueError, KeyError, TypeError):  # a torn line a killed run left
                    offset += len(line)
                    continue
                if attempt <= 1:  # a first attempt (a resumed task's too) starts its logs afresh
                    self.where[item] = []
                self.where.setdefault(item, []).append((offset, len(line)))
                offset += len(line)

    def texts(self, item: int | None, stream: str) -> Iterator[str]:
        """The stream as the task's own file would hold it, a line of the step's file at a time."""
        with open(self.path, "rb") as f:
            for offset, size in self.where.get(item, ()):
                f.seek(offset)
                record = json.loads(f.read(size))
                if record["attempt"] > 1:
                    yield f"--- attempt {record['attempt']} ---\n"
                yield record.get(stream, "")


def _captured(step_dir: Path) -> CapturedLines | None:
    path = step_dir / CAPTURED_FILE
    return CapturedLines(path) if path.is_file() else None


_Task = tuple[str, Path, "CapturedLines | None", "int | None"]


def _task_dirs(run: RunDirectory, step: str | None, item: int | None) -> list[_Task]:
    """(name, folder, the step's captured lines, item) of each task: its folder, or its lines, or both."""
    tasks = run.path / "tasks"
    if not tasks.is_dir():
        return []
    found: list[_Task] = []
    for step_dir in sorted(p for p in tasks.iterdir() if p.is_dir()):
        if step is not None and step_dir.name != step:
            continue
        captured = _captured(step_dir)
        items = {int(p.name): p for p in step_dir.iterdir() if p.is_dir() and p.name.isdigit()}
        for i in captured.where if captured is not None else ():
            if i is not None and i not in items:
                items[i] = step_dir / f"{i:06d}"
        if items:
            for i in sorted(items):
                if item is None or i == item:
                    found.append((f"{step_dir.name}[{i}]", items[i], captured, i))
        elif item is None:
            found.append((step_dir.name, step_dir, captured, None))
    if step is not None and not found:
        raise FlowyardError(
            f"run {run.run_id!r} has no logs for step {step!r}" + (f" item {item}" if item is not None else "")
        )
    return found


def read_run_logs(run: RunDirectory, step: str | None = None, item: int | None = None) -> Iterator[str]:
    """Each task's stdout then stderr, prefixed with the task's name."""
    for name, folder, captured, task_item in _task_dirs(run, step, item):
        in_files = (folder / "stdout.log").exists() or (folder / "stderr.log").exists()
        for stream in ("stdout", "stderr"):
            prefix = f"{name}{'' if stream == 'stdout' else ' (stderr)'}: "
            if in_files or captured is None:
                path = folder / f"{stream}.log"
                if path.exists():
                    yield from (prefix + line for line in _lines(path))
            else:
                yield from (prefix + line for line in _text_lines(captured.texts(task_item, stream)))


def _lines(path: Path, chunk: int = 1 << 20) -> Iterator[str]:
    """The file's lines as ``str.splitlines`` cuts them, read a chunk at a time (a log may be gigabytes).

    A line longer than a chunk comes out in pieces of a chunk: memory stays bounded either way.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device a step left for its log: never read
        os.close(fd)
        return
    os.set_blocking(fd, True)
    with open(fd, "rb") as f:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        chunks = iter(lambda: f.read(chunk), b"")
        pieces = itertools.chain((decoder.decode(data) for data in chunks), [decoder.decode(b"", final=True)])
        yield from _text_lines(pieces, chunk)


def _text_lines(pieces: Iterable[str], chunk: int = 1 << 20) -> Iterator[str]:
    """The lines of the text the pieces make up, as ``str.splitlines`` cuts the whole (a line may
    run on from one piece into the next); a line longer than a chunk comes out in pieces of a chunk."""
    carry = ""
    for piece in pieces:
        if not piece:
            continue
        text = carry + piece
        lines = text.splitlines(keepends=True)
        # the last line may go on in the next piece (a "\r" may be half of a "\r\n")
        carry = lines.pop() if lines and (lines[-1][-1] not in _LINE_ENDS or lines[-1][-1] == "\r") else ""
        if len(carry) > chunk:  # a line longer than a chunk: out it goes, in pieces
            lines.append(carry)
            carry = ""
        for line in lines:
            yield line.splitlines()[0]
    yield from carry.splitlines()


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
        steps_lines: set[Path] = set()
        for name, folder, captured, _ in _task_dirs(run, None, None) if step is None else _safe_dirs(run, step, item):
            if captured is not None:
                steps_lines.add(captured.path)
            for stream in ("stdout", "stderr"):
                path = folder / f"{stream}.log"
                if not path.exists():
                    continue
                yield from _new_lines(path, offsets, f"{name}{'' if stream == 'stdout' else ' (stderr)'}: ")
        for path in sorted(steps_lines):
            yield from _new_captured(path, offsets, item)
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


def _new_captured(path: Path, offsets: dict[Path, int], item: int | None) -> Iterator[str]:
    """The lines of the attempts a step's ``captured.jsonl`` got since the offset last seen."""
    step = path.parent.name
    with open(path, "rb") as f:
        f.seek(offsets.get(path, 0))
        for line in f:
            if not line.endswith(b"\n"):
                break  # being written: next time
            offsets[path] = offsets.get(path, 0) + len(line)
            try:
                record = json.loads(line)
                task_item, attempt = record["item"], record["attempt"]
            except (ValueError, KeyError, TypeError):  # a torn line a killed run left
                continue
            if item is not None and task_item != item:
                continue
            name = step if task_item is None else f"{step}[{task_item}]"
            for stream in ("stdout", "stderr"):
                prefix = f"{name}{'' if stream == 'stdout' else ' (stderr)'}: "
                header = [f"--- attempt {attempt} ---\n"] if attempt > 1 else []
                yield from (prefix + text for text in _text_lines([*header, record.get(stream, "")]))


def _safe_dirs(run: RunDirectory, step: str, item: int | None) -> list[_Task]:
    try:
        return _task_dirs(run, step, item)
    except FlowyardError:
        return []  # the step has not started yet
