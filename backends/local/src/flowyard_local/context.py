"""What a run's tasks share while it goes: its plan, and what the run learns and holds as it runs.

The plan is read-only; the rest fills as tasks run (processes started, functions imported, each
step's :class:`~flowyard_local.stepplan.StepPlan`, folders made, step files open).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowyard.execution.processes import ProcessGroups, Watchdog
from flowyard.execution.streams import TaskOutputCapture
from flowyard.stepimage.step import FunctionSignature

from flowyard_local.plan import RunPlan
from flowyard_local.stepfiles import StepFile
from flowyard_local.stepplan import StepPlan


@dataclass
class RunContext:
    """A run's plan, and its registries: the only state tasks share, each part guarded where workers race."""

    plan: RunPlan
    stop: threading.Event = field(default_factory=threading.Event)
    watchdog: Watchdog | None = None  # ends the run's processes if flowyard dies
    processes: ProcessGroups = field(default_factory=ProcessGroups)
    functions: dict[str, tuple[Callable[..., Any], FunctionSignature]] = field(default_factory=dict)
    step_plans: dict[str, StepPlan] = field(default_factory=dict)
    made_dirs: set[str] = field(default_factory=set)  # steps whose folder exists
    capture: TaskOutputCapture = field(default_factory=TaskOutputCapture)
    step_files: dict[str, StepFile] = field(default_factory=dict)  # in-process steps' logs and provenance

    def step_file(self, step: str, name: str) -> StepFile:
        """A step's append-only file (``stepfiles``), made once however many workers ask at once."""
        path = f"{self.plan.run_dir_text}/tasks/{step}/{name}"
        found = self.step_files.get(path)
        return found if found is not None else self.step_files.setdefault(path, StepFile(path))

    def close_step_files(self) -> None:
        for f in self.step_files.values():
            f.close()

    def kill_all(self) -> None:
        self.processes.kill_all()
