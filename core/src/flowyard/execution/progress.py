"""Watching a run: a live line per step on a terminal (rich), plain lines otherwise.

Any runner can show its progress through these: it describes each step as a :class:`StepRow`
(name, state, counts), a neutral row that asks nothing of the runner's own bookkeeping. The live
view needs ``rich`` (``pip install 'flowyard-core[live]'``; the local backend depends on it).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from flowyard.runs import SYMBOLS, TaskState

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live


@dataclass(frozen=True)
class StepRow:
    """One step as progress shows it: ``total`` None while its task count is not known yet."""

    name: str
    state: TaskState
    total: int | None = 1
    done: int = 0
    running: int = 0
    failed: int = 0
    message: str = ""


class Progress(Protocol):
    """What a runner tells its progress view; :class:`PlainProgress` and :class:`LiveProgress` are two."""

    def step_started(self, row: StepRow) -> None:
        """A step's tasks start (``row.total`` of them)."""

    def step_ended(self, row: StepRow) -> None:
        """A step settled: ``row.state`` is its outcome, ``row.message`` why when it is not ok."""

    def task_failed(self, name: str, state: TaskState, message: str) -> None:
        """An item of a fanned-out step failed (``name``: ``step[item]``); a step's own failure ends it."""

    def close(self) -> None:
        """The run ended: the last state is drawn, the terminal given back."""


class PlainProgress(Progress):
    """Off a terminal: a line when a step starts or ends, and one per failed task."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream: TextIO = stream or sys.stderr
        self._lock = threading.Lock()

    def step_started(self, row: StepRow) -> None:
        count = row.total if row.total is not None else 0
        self._line(f"● {row.name} started ({count} task{'s' if count != 1 else ''})")

    def step_ended(self, row: StepRow) -> None:
        ending = f"{SYMBOLS[row.state]} {row.name} {row.state.value.lower()}"
        self._line(f"{ending}: {row.message}" if row.message else ending)

    def task_failed(self, name: str, state: TaskState, message: str) -> None:
        self._line(f"{SYMBOLS[state]} {name} {state.value.lower()}: {message}")

    def _line(self, text: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {text}\n"  # one write: a runner may report from several threads
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def close(self) -> None:
        pass


class LiveProgress(Progress):
    """On a terminal: one line per step with done/running/failed out of N, redrawn in place.

    ``rows`` is called at each redraw (8 a second, on rich's thread): events cost the runner nothing,
    even 10,000 of them, and the step methods are there only to match :class:`PlainProgress`.
    """

    def __init__(self, rows: Callable[[], Sequence[StepRow]], stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.rows: Callable[[], Sequence[StepRow]] = rows
        # made before the run routes sys.stderr (flowyard.execution.streams): the stream it writes to stays this one
        self.console: Console = Console(file=stream or sys.stderr)
        self.live: Live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for row in self.rows():
            table.add_row(
                f"{SYMBOLS[row.state]} {row.name}",
                f"{row.done}/{row.total if row.total is not None else '?'} done",
                f"{row.running} running",
                f"{row.failed} failed" if row.failed else "",
                row.message,
            )
        return table

    def step_started(self, row: StepRow) -> None:
        pass

    def step_ended(self, row: StepRow) -> None:
        pass

    def task_failed(self, name: str, state: TaskState, message: str) -> None:
        pass

    def close(self) -> None:
        self.live.refresh()
        self.live.stop()
