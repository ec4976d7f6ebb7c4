"""Who owns a local run's folder: one process at a time, by an exclusive ``flock`` on ``run.lock``.

A run (new or resumed) holds the lock until it ends, and pruning takes it before it deletes a run.
The kernel drops a ``flock`` when its holder dies, SIGKILL included, so no stale lock outlives a
crash and no one has to guess whether a pid in a file is still that run's.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from flowyard.errors import FlowyardError

LOCK_FILE = "run.lock"


class RunInUseError(FlowyardError):
    """Another process is running (or resuming, or pruning) this run right now."""


class RunLock:
    """An exclusive hold on one run's folder; released by :meth:`release` or when the process ends."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor of the open file drops the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run(folder: Path, refused: str = "try again when it has ended") -> RunLock:
    """Take the run's lock now, or say who holds it (one line; the CLI exits 2)."""
    import fcntl

    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise RunInUseError(f"run {folder.name} is in use by another flowyard process{holder}; {refused}") from None
    except BaseException:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):  # who holds it, for the message above (the lock is the flock)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return RunLock(folder, fd)


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


__all__ = ["LOCK_FILE", "RunInUseError", "RunLock", "lock_run"]
