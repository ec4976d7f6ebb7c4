"""The run journal's writer: an append-only JSON-lines file of task events, committed in groups.

A task's artifacts are complete on disk before its "done" line is queued, and each group commit
that names files first syncs them (``os.sync()``), then writes and fsyncs its lines: nothing the
journal records as done can be missing or half-written, even after a power loss. Groups commit
every ``interval`` seconds or ``batch`` lines, and when the run is idle; a crash loses at most the
last group, whose tasks simply run again on resume. A torn last line is ignored when reading.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path, *, interval: float = 0.25, batch: int = 8192) -> None:
        self.path = path
        self.interval = interval
        self.batch = batch
        self._pending: list[str] = []
        self._records_files = True  # the first commit also makes the run's ir.json and params.json durable
        self._last_commit = time.monotonic()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        # A torn line left by a killed run must not glue itself to our first line.
        if self._file.tell() > 0 and not _ends_with_newline(path):
            self._file.write("\n")

    def append(self, event: dict[str, Any]) -> None:
        """Queue an event; commit when the group is full or old enough. Called from one thread."""
        self._pending.append(_encode(event))
        if "files" in event:
            self._records_files = True
        if len(self._pending) >= self.batch or time.monotonic() - self._last_commit >= self.interval:
            with self._lock:
                self._commit_locked()

    def commit(self) -> None:
        with self._lock:
            if self._pending:
                self._commit_locked()

    def _commit_locked(self) -> None:
        if self._pending:
            if self._records_files:
                # The artifacts these lines record were written unsynced: make them durable first, so
                # the journal never records as done a file a power loss could take back. (Lines of
                # value-only tasks name no file: nothing to sync but the journal itself.)
                os.sync()
                self._records_files = False
            self._file.write("\n".join(self._pending) + "\n")
            self._pending.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_commit = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._commit_locked()
                self._file.close()


_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
