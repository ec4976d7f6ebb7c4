"""A task's log files, read and rewritten in bounded memory however big a step made them.

A step may print gigabytes: a failure message needs only the last line, masking secrets can go a
chunk at a time (holding back one secret's length less one, so a secret split across two chunks is
still seen whole), and an in-process step's captured output goes to its file once it grows past a
chunk instead of staying in memory to the end.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence

from flowyard.runs import redact

CHUNK = 1 << 20  # characters (or bytes) held at once


def tail(path: str, size: int = 400) -> bytes:
    """The last ``size`` bytes of a file, read by seeking to them."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        end = os.fstat(fd).st_size
        return os.pread(fd, size, max(0, end - size))
    finally:
        os.close(fd)


class StreamRedactor:
    """Masks secrets in text that arrives in pieces: ``feed`` returns what is safe to write now."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets: list[str] = [s for s in secrets if s]
        self.hold: int = max((len(s) for s in self.secrets), default=1) - 1
        self.pending: str = ""
        self.changed: bool = False

    def feed(self, text: str) -> str:
        """What of ``pending + text`` is safe to write: masked, less the tail a secret could still start in."""
        if not self.secrets:
            return text
        clean = redact(self.pending + text, self.secrets)
        self.changed = self.changed or clean != self.pending + text
        cut = len(clean) - self.hold
        if cut <= 0:
            self.pending = clean
            return ""
        self.pending = clean[cut:]
        return clean[:cut]

    def finish(self) -> str:
        """What was held back, at the end of the stream."""
        rest, self.pending = self.pending, ""
        return rest


def redact_file(path: str, secrets: Sequence[str]) -> None:
    """Mask secrets in a log in place (rewritten beside it and renamed over it, only if one was there)."""
    if not any(secrets):
        return
    redactor = StreamRedactor(secrets)
    tmp = f"{path}.{os.getpid()}.redacting"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a step swapped its log for a FIFO or a device: not read
        os.close(fd)
        return
    os.set_blocking(fd, True)
    with (
        open(fd, encoding="utf-8", errors="replace", newline="") as src,
        open(tmp, "w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(CHUNK):
            dst.write(redactor.feed(chunk))
        dst.write(redactor.finish())
    if redactor.changed:
        os.replace(tmp, path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class CapturedLog:
    """One stream of an in-process task: pieces in memory, spilled to the log file past ``CHUNK``.

    ``append`` is what the worker's stand-in ``sys.stdout`` calls for each write, so it stays a list
    append most of the time; the file is opened only when the output is big, or at the end when
    there is any (a silent task writes no file).
    """

    __slots__ = ("fd", "header", "path", "pieces", "prepare", "redactor", "secrets", "size", "truncate")

    def __init__(
        self, path: str, secrets: Sequence[str], prepare: Callable[[], None], truncate: bool, header: str = ""
    ) -> None:
        self.path: str = path
        self.prepare: Callable[[], None] = prepare  # makes the log's folder, before the file is first opened
        self.pieces: list[str] = []
        self.size: int = 0
        self.fd: int | None = None
        self.truncate: bool = truncate
        self.header: str = header
        self.secrets: Sequence[str] = secrets  # read when output first goes out: the task may learn its secrets late
        self.redactor: StreamRedactor | None = None

    def append(self, text: str) -> None:
        """Keep a piece; past ``CHUNK`` held, write them out (masked)."""
        self.pieces.append(text)
        self.size += len(text)
        if self.size > CHUNK:
            self.spill()

    def spill(self) -> None:
        """Write what is held to the log file (opened, and its folder made, the first time)."""
        text = "".join(self.pieces)
        self.pieces.clear()
        self.size = 0
        if self.redactor is None and any(self.secrets):
            self.redactor = StreamRedactor(self.secrets)
        if self.redactor is not None:
            text = self.redactor.feed(text)
        self._write(text)

    def close(self, *, always: bool = False) -> None:
        """Write what is left; a stream that got nothing writes no file unless ``always``."""
        if self.pieces or self.fd is not None or always:
            self.spill()
            if self.redactor is not None:
                self._write(self.redactor.finish())
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _write(self, text: str) -> None:
        if self.fd is None:
            self.prepare()
            flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if self.truncate else os.O_APPEND)
            self.fd = os.open(self.path, flags, 0o666)
            text = self.header + text
        data = memoryview(text.encode("utf-8", errors="replace"))
        while data:
            data = data[os.write(self.fd, data) :]


class CapturedOutput:
    """An in-process task attempt's stdout and stderr, in memory until they pass ``CHUNK`` together.

    One object per attempt and nothing else until the function prints (creating two
    :class:`CapturedLog` per task cost a no-op item more than the rest of its run). Past ``CHUNK``
    the attempt's output goes to the task's own log files from then on (``spill``, which makes them).
    """

    __slots__ = ("logs", "pieces", "size", "spill")

    def __init__(self, spill: Callable[[], tuple[CapturedLog, CapturedLog]]) -> None:
        self.pieces: tuple[list[str], list[str]] = ([], [])
        self.size: int = 0
        self.spill: Callable[[], tuple[CapturedLog, CapturedLog]] = spill
        self.logs: tuple[CapturedLog, CapturedLog] | None = None

    def add(self, index: int, text: str) -> None:
        """``index``: 0 for stdout, 1 for stderr."""
        if self.logs is not None:
            self.logs[index].append(text)
            return
        self.pieces[index].append(text)
        self.size += len(text)
        if self.size > CHUNK:
            self.logs = self.spill()
            for log, pieces in zip(self.logs, self.pieces, strict=True):
                for piece in pieces:
                    log.append(piece)
                pieces.clear()

    def texts(self) -> tuple[str, str]:
        """What stayed in memory (all of it unless spilled)."""
        return "".join(self.pieces[0]), "".join(self.pieces[1])
