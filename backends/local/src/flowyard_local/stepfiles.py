"""One append-only file per step for what each in-process task would otherwise keep in files of its own.

An in-process (Python function) task's captured output goes to ``tasks/<step>/captured.jsonl`` and
its provenance record to ``tasks/<step>/provenance.jsonl``, one JSON line each, instead of a
``stdout.log``, ``stderr.log`` and ``provenance.json`` in the task's folder: on this machine's disk
the two files a task made cost more than the rest of its run (docs/performance.md). ``flowyard logs``
and ``flowyard provenance`` read either layout and show the same (``flowyard.logs``,
``flowyard.provenance``); output past ``logfiles.CHUNK`` still goes to the task's own files.

A line is written (one ``write`` of an ``O_APPEND`` descriptor) before the task's result goes to the
journal, so whatever the journal records as done has its line, as its files before. A run killed in
the middle of a write leaves a torn last line: readers skip it, and the next process to append ends
it first so that it cannot glue itself to a new line. A task run again (a resume) appends a new line;
readers take the newest for each task.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from flowyard.logs import CAPTURED_FILE
from flowyard.provenance import PROVENANCE_LINES

__all__ = ["CAPTURED_FILE", "PROVENANCE_LINES", "StepFile", "captured_line"]


class StepFile:
    """A JSON-lines file that every worker thread appends to; opened on its first line."""

    __slots__ = ("fd", "lock", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.lock = threading.Lock()

    def append(self, line: bytes) -> None:
        """Write one line (ending in a newline) whole, after whatever other threads wrote."""
        with self.lock:
            if self.fd is None:
                self.fd = _open_for_append(self.path)
            data = memoryview(line)
            while data:
                data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


def _open_for_append(path: str) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)  # once per step: a task of a step with no files
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line a killed run left: end it
        os.write(fd, b"\n")
    return fd


_encode = json.JSONEncoder(separators=(",", ":")).encode


def captured_line(item: int | None, attempt: int, stdout: str, stderr: str) -> bytes:
    """One attempt's captured output; an empty stream is left out."""
    record: dict[str, Any] = {"item": item, "attempt": attempt}
    if stdout:
        record["stdout"] = stdout
    if stderr:
        record["stderr"] = stderr
    return (_encode(record) + "\n").encode()
