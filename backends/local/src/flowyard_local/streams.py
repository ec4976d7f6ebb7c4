"""What an in-process task prints goes to its logs; every other thread's output stays where it was.

``sys.stdout`` and ``sys.stderr`` are one per process, so capturing by swapping them would capture
every thread. Instead a routing stream stands in for each, installed once however many runs are in
flight (a count, under a lock) and removed when the last one ends: a write from a thread that is
running a task goes to that task's log, any other write (and ``buffer``, ``fileno()``, ``isatty()``
...) goes to the stream that was there before. A caller that replaced the stream meanwhile keeps
its own: only the router is ever taken back out.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any, Protocol

from flowyard_local.logfiles import CapturedLog


class OutputCapture(Protocol):
    """Per-thread (``threading.local``): the current task's stdout and stderr logs, None outside a task."""

    streams: tuple[CapturedLog, CapturedLog] | None


class _RoutedStream:
    """Stands in for ``sys.stdout`` (index 0) or ``sys.stderr`` (index 1), routing by thread."""

    def __init__(self, real: Any, index: int) -> None:
        self.real = real
        self._index = index

    def _log(self) -> CapturedLog | None:
        for capture in _state.captures:  # a thread runs at most one task: at most one is set
            streams = capture.streams
            if streams is not None:
                return streams[self._index]
        return None

    def write(self, text: str) -> int:
        log = self._log()
        if log is None:
            return int(self.real.write(text))
        if not isinstance(text, str):  # as a real text stream would say
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        log.append(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._log() is None:
            self.real.flush()

    def isatty(self) -> bool:
        return self._log() is None and bool(self.real.isatty())

    def fileno(self) -> int:
        if self._log() is not None:
            raise io.UnsupportedOperation("a task's captured output has no file descriptor")
        return int(self.real.fileno())

    @property
    def encoding(self) -> str:
        return getattr(self.real, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str:
        return "strict" if self._log() is not None else str(getattr(self.real, "errors", "strict"))

    @property
    def closed(self) -> bool:
        return self._log() is None and bool(self.real.closed)

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if self._log() is not None:
            raise AttributeError(f"{name!r}: a task's captured output is text only")
        return getattr(self.real, name)


class _RouterState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.captures: tuple[OutputCapture, ...] = ()  # replaced whole: writers read it without the lock
        self.routers: tuple[_RoutedStream, _RoutedStream] | None = None


_state = _RouterState()


def route_task_output(capture: OutputCapture) -> None:
    """From now on, a thread with ``capture.streams`` set writes there (installs the router if absent)."""
    with _state.lock:
        if _state.routers is None:
            _state.routers = (_RoutedStream(sys.stdout, 0), _RoutedStream(sys.stderr, 1))
            sys.stdout, sys.stderr = _state.routers
        _state.captures = (*_state.captures, capture)


def unroute_task_output(capture: OutputCapture) -> None:
    """Undo :func:`route_task_output`; the last run out puts the streams back, unless the caller replaced them."""
    with _state.lock:
        _state.captures = tuple(c for c in _state.captures if c is not capture)
        if _state.captures or _state.routers is None:
            return
        out, err = _state.routers
        _state.routers = None
        if sys.stdout is out:
            sys.stdout = out.real
        if sys.stderr is err:
            sys.stderr = err.real
