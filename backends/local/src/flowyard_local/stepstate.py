"""Where one step of a run is: waiting, running its items, or done, with its results counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowyard.ir import StepIR, StepOutputSource
from flowyard.runs import TaskState

from flowyard_local.taskdata import ERROR, FAILED, SUCCEEDED, TaskResult


@dataclass
class StepState:
    """Where one step is: waiting, running its items, or done."""

    ir: StepIR
    phase: str = "waiting"  # waiting -> active -> done
    items: list[Any] | None = None  # fan-out item values (None: one task)
    count: int = 1
    next: int = 0
    running: int = 0
    finished: int = 0
    results: dict[int | None, TaskResult] = field(default_factory=dict)
    omitted_items: dict[int, str] = field(default_factory=dict)
    unrun: list[int] = field(default_factory=list)  # batch items handed back when the run stopped
    busy: float = 0.0  # seconds its finished tasks took, to size batches
    timed: int = 0
    succeeded: int = 0  # results that are ok (succeeded or skipped): counted, so no one re-counts 10,000
    not_ok: int = 0
    outcome: TaskState | None = None  # set when the whole step is skipped or omitted
    message: str = ""
    fanned_out: bool = False
    collects: bool = False  # some input gathers a fanned-out step's outputs

    def __post_init__(self) -> None:
        self.fanned_out = self.ir.for_each is not None
        self.collects = any(isinstance(i.source, StepOutputSource) and i.source.collect for i in self.ir.inputs)

    def index(self, i: int) -> int | None:
        return i if self.fanned_out else None

    def failed(self) -> bool:
        """Whether the step counts against the run. A step that is only Omitted does not: what omitted it (a
        failure upstream, a stop, an interruption) counts already, and a skip upstream is no failure (Argo's
        ``assessDAGPhase`` gives an omitted task its branch's phase)."""
        if self.outcome in (FAILED, ERROR):
            return True
        return self.not_ok > 0 or bool(self.omitted_items)

    def add(self, result: TaskResult) -> None:
        """Keep a task's result, counted."""
        previous = self.results.get(result.item)
        if previous is not None:  # replaced (an interrupted task's result): uncount the old one
            if previous.state.ok:
                self.succeeded -= 1
            else:
                self.not_ok -= 1
        self.results[result.item] = result
        if result.state is SUCCEEDED or result.state.ok:
            self.succeeded += 1
        else:
            self.not_ok += 1

    def ok_result(self, item: int | None) -> TaskResult | None:
        r = self.results.get(item)
        return r if r is not None and r.state == SUCCEEDED else None
