"""The run journal's writer: an append-only JSON-lines file of task events, committed in groups.

A task's artifacts are complete on disk before its "done" line is queued, and each group commit
that names files first syncs them (``os.sync()``), then writes and fsyncs its lines: nothing the
journal records as done can be missing or half-written, even after a power loss. Groups commit
every ``interval`` seconds on the journal's own thread, and when the run is idle or ends; a crash
loses the tasks not yet committed, which simply run again on resume. Their number is bounded:
once ``max_tasks`` tasks wait uncommitted (queued, or in the commit under way), ``append`` commits
them itself and returns when they are on disk, so the scheduler waits for the disk rather than let
the window grow. At half the window the journal's thread is asked to commit, so the scheduler only
waits when the disk is slower than the tasks (waiting at every full window, an fsync each 256 tasks,
stopped dispatching for 1-13 ms each time: the no-op figure went from 1.66x to 2.1x). A torn last
line is ignored when reading.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

# At most this many finished tasks wait for a commit; docs/run-model.md states the bound it gives.
WINDOW_TASKS = 256


class Journal:
    """Appends from the scheduler's thread; commits on a thread of its own.

    A commit waits on the disk (``os.sync()`` flushes every dirty page, other programs' too: 0.3 s
    after a burst of writes). Done by the scheduler, that stopped dispatching for as long; here the
    workers keep busy meanwhile, and ``append`` only queues a line.
    """

    def __init__(self, path: Path, *, interval: float = 0.25, max_tasks: int = WINDOW_TASKS) -> None:
        self.path = path
        self.interval = interval
        self.max_tasks = max_tasks
        self._pending: list[str] = []
        self._uncommitted = 0  # tasks in queued lines and in the commit under way
        self._records_files = True  # the first commit also makes the run's ir.json and params.json durable
        self._queue_lock = threading.Lock()  # held for a moment: taking or adding lines
        self._commit_lock = threading.Lock()  # held through a commit: one at a time, lines in order
        self._due = threading.Event()
        self._closed = False
        self._committer: threading.Thread | None = None
        self._error: OSError | None = None  # a commit on the journal's thread failed: the next append raises it
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        # A torn line left by a killed run must not glue itself to our first line.
        if self._file.tell() > 0 and not _ends_with_newline(path):
            self._file.write("\n")

    def append(self, event: dict[str, Any]) -> None:
        """Queue an event for the next commit (at most ``interval`` seconds away)."""
        if self._error is not None:
            raise self._error
        line = _encode(event)
        kind = event.get("t")
        tasks = len(event["item"]) if kind == "tasks" else int(kind == "task")
        with self._queue_lock:
            self._pending.append(line)
            if "files" in event:
                self._records_files = True
            self._uncommitted += tasks
            waiting = self._uncommitted
        if self._committer is None:
            self._committer = threading.Thread(target=self._commit_every_interval, name="flowyard-journal", daemon=True)
            self._committer.start()
        if waiting >= self.max_tasks:  # the window is full: wait for the disk here (after a commit under way)
            self.commit()
        elif waiting >= self.max_tasks // 2:  # half full: the journal's thread commits now, we go on
            self._due.set()

    def commit(self) -> None:
        """Write and sync what is queued, now (returns once it is on disk)."""
        with self._commit_lock:
            with self._queue_lock:
                lines, self._pending = self._pending, []
                records_files, self._records_files = self._records_files, False
                committing = self._uncommitted
            if lines:
                if records_files:
                    # The artifacts these lines record were written unsynced: make them durable first,
                    # so the journal never records as done a file a power loss could take back. (Lines
                    # of value-only tasks name no file: nothing to sync but the journal itself.)
                    try:
                        os.sync()
                    except OSError:
                        with self._queue_lock:  # not written: they stay queued
                            self._pending[:0] = lines
                            self._records_files = True
                        raise
                self._file.write("\n".join(lines) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            with self._queue_lock:
                self._uncommitted -= committing

    def _commit_every_interval(self) -> None:
        while not self._closed:
            self._due.wait(self.interval)
            self._due.clear()
            if self._pending and not self._closed:
                try:
                    self.commit()
                except OSError as e:  # a full or vanished disk: the run fails on its next append
                    self._error = e
                    return

    def close(self) -> None:
        """Commit what is left and close the file; the journal's thread ends first."""
        self._closed = True
        self._due.set()
        if self._committer is not None:
            self._committer.join()
        with self._commit_lock:
            if self._file.closed:
                return
        self.commit()
        self._file.close()


_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
