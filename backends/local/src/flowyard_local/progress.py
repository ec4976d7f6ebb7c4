"""Watching a run: a live line per step on a terminal (rich), plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from flowyard.runs import SYMBOLS, TaskState

from flowyard_local.runner import StepState
from flowyard_local.tasks import TaskResult


class PlainProgress:
    """Off a terminal: a line when a step starts or ends, and one per failed task."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __call__(self, kind: str, data: Any) -> None:
        if kind == "failure":
            r: TaskResult = data
            if r.state in (TaskState.FAILED, TaskState.ERROR) and r.item is not None:  # a step's own: at its end
                name = r.step if r.item is None else f"{r.step}[{r.item}]"
                self._line(f"{SYMBOLS[r.state]} {name} {r.state.value.lower()}: {r.message}")
        elif kind == "step":
            st: StepState = data
            if st.phase == "active":
                self._line(f"● {st.ir.name} started ({st.count} task{'s' if st.count != 1 else ''})")
            elif st.phase == "done":
                own = st.results.get(None)
                message = st.message or (own.message if own is not None and not own.state.ok else "")
                self._line(
                    f"{SYMBOLS[_step_state(st)]} {st.ir.name} {_step_state(st).value.lower()}"
                    + (f": {message}" if message else "")
                )

    def _line(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class LiveProgress:
    """On a terminal: one line per step with done/running/failed out of N, redrawn in place."""

    def __init__(self, steps: list[StepState]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.steps = steps
        self.console = Console(file=sys.stderr)  # the real stderr: during a run sys.stderr captures task output
        # rich redraws from get_renderable at its own pace: events cost nothing, even 10,000 of them
        self.live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for st in self.steps:
            done, failed = st.succeeded, st.not_ok
            state = _step_state(st)
            total = st.count if st.phase != "waiting" else "?"
            table.add_row(
                f"{SYMBOLS[state]} {st.ir.name}",
                f"{done}/{total} done",
                f"{st.running} running",
                f"{failed} failed" if failed else "",
                st.message,
            )
        return table

    def __call__(self, kind: str, data: Any) -> None:
        pass

    def close(self) -> None:
        self.live.refresh()
        self.live.stop()


def _step_state(st: StepState) -> TaskState:
    from flowyard.runs import aggregate_state

    if st.outcome is not None:
        return st.outcome
    if st.phase == "waiting":
        return TaskState.PENDING
    states = [r.state for r in st.results.values()]
    if st.phase == "active" and (st.running or st.next < st.count):
        return TaskState.RUNNING
    return aggregate_state(states) if states else TaskState.SUCCEEDED
