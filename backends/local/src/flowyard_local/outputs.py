"""Opening the files a task left as its outputs, refusing what is not a regular file of the task.

A step decides what it leaves at an output's path: a FIFO (reading it waits for a writer that never
comes), a link to ``/dev/zero`` (reading it never ends), a link to a host file outside the task
(whose contents would be handed on as the artifact). Outputs are opened without following a final
link and without blocking, then checked with ``fstat`` on what was opened, so a file is never read
before it is known to be a regular file; a link is followed only to a file inside the task's folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat


class UnsafeOutputError(Exception):
    """The output's path holds something other than a regular file inside the task's folder."""


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_output(path: str, folder: str, *, check_parents: bool = True) -> tuple[int, str]:
    """A read-only descriptor of the regular file at ``path``, and the path it really is at.

    ``check_parents``: also refuse a path whose folders lead out of ``folder`` (a linked ``work``);
    the in-process functions, which run inside flowyard anyway, skip that ``realpath``.
    Raises FileNotFoundError when nothing is there, UnsafeOutputError for anything unsafe.
    """
    real = path
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        if e.errno != errno.ELOOP:  # ELOOP: the last part is a link (O_NOFOLLOW)
            raise
        fd = -1
    if fd < 0 or check_parents:
        real = os.path.realpath(path)
        base = os.path.realpath(folder)
        if os.path.commonpath([real, base]) != base:
            if fd >= 0:
                os.close(fd)
            raise UnsafeOutputError(f"links to {real}, outside the task's folder") from None
        if fd < 0:
            fd = os.open(real, _OPEN_FLAGS)
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise IsADirectoryError(errno.EISDIR, "a folder", path)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafeOutputError(f"is not a regular file (a {_kind(info.st_mode)})")
    os.set_blocking(fd, True)
    return fd, real


def check_output(path: str, folder: str) -> None:
    """Refuse an unsafe output before someone else reads it by its path."""
    fd, _ = open_output(path, folder)
    os.close(fd)


def sha256_fd(fd: int, chunk: int = 1 << 20) -> str:
    """The digest of what an open descriptor reads, in bounded memory; closes it."""
    h = hashlib.sha256()
    try:
        while block := os.read(fd, chunk):
            h.update(block)
    finally:
        os.close(fd)
    return h.hexdigest()


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"
