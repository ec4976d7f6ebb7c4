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
from typing import Any

from flowyard.execution.logfiles import CapturedOutput


class _CurrentTask(threading.local):
    streams: CapturedOutput | None = None


_current = _CurrentTask()  # one slot per thread, shared by every run: a thread runs one task at a time


class TaskOutputCapture:
    """Where the current thread's task writes its stdout and stderr (None: not in a task).

    Every run's capture reads and sets the same per-thread slot, so that a write looks up one
    thread-local attribute, however many runs are in flight."""

    @property
    def streams(self) -> CapturedOutput | None:
        """The running task's captured output on this thread; set it as a task starts, None as it ends."""
        return _current.streams

    @streams.setter
    def streams(self, value: CapturedOutput | None) -> None:
        _current.streams = value


class _RoutedStream:
    """Stands in for ``sys.stdout`` (index 0) or ``sys.stderr`` (index 1), routing by thread."""

    def __init__(self, real: Any, index: int) -> None:
        self.real = real
        self._index = index

    def _log(self) -> CapturedOutput | None:
        return _current.streams  # None: this thread is not running a task

    def write(self, text: str) -> int:
        streams = _current.streams  # inlined: this is every print of every in-process task
        if streams is None:
            return int(self.real.write(text))
        if not isinstance(text, str):  # as a real text stream would say
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        streams.add(self._index, text)
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
        self.runs = 0  # runs in flight that route their tasks' output
        self.routers: tuple[_RoutedStream, _RoutedStream] | None = None


_state = _RouterState()


def route_task_output() -> None:
    """From now on, a thread whose task capture is set writes there (installs the router if absent)."""
    with _state.lock:
        if _state.routers is None:
            _state.routers = (_RoutedStream(sys.stdout, 0), _RoutedStream(sys.stderr, 1))
            sys.stdout, sys.stderr = _state.routers
        _state.runs += 1


def unroute_task_output() -> None:
    """Undo :func:`route_task_output`; the last run out puts the streams back, unless the caller replaced them."""
    with _state.lock:
        _state.runs -= 1
        if _state.runs or _state.routers is None:
            return
        out, err = _state.routers
        _state.routers = None
        if sys.stdout is out:
            sys.stdout = out.real
        if sys.stderr is err:
            sys.stderr = err.real
