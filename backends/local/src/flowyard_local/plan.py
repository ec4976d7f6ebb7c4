"""A local run's plan: what to run, where, and with which limits and options, decided once.

The backend makes it (its run folder made or locked, its store opened and checked, what a resumed
run already finished read back) and hands it whole to the scheduler; the scheduler and every task
read it and never change it. What a run learns as it goes lives in :class:`~flowyard_local.context.RunContext`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowyard.errors import FlowyardError
from flowyard.ir import PipelineIR
from flowyard.runs import RunDirectory, read_journal
from flowyard.store import ArtifactStore

from flowyard_local.taskdata import SUCCEEDED, TaskResult

if TYPE_CHECKING:
    from flowyard_local.cache import TaskCache

TaskKey = tuple[str, int | None]  # (step, item)


@dataclass(frozen=True)
class RunPlan:
    """Everything a local run is told before it starts; read-only (mappings are read through ``Mapping``)."""

    ir: PipelineIR
    params: Mapping[str, Any]
    run_dir: RunDirectory
    store: ArtifactStore
    environ: Mapping[str, str]
    workers: int  # the pool's threads
    notices: tuple[str, ...] = ()
    store_in_run_dir: bool = True  # the default store: artifacts stay where their task wrote them
    python_subprocess: bool = False  # -O python_subprocess: every Python step in a process of its own
    previous: Mapping[TaskKey, TaskResult] = field(default_factory=dict)  # what a resumed run keeps
    resumed: bool = False  # tasks may find what an earlier, killed or failed, attempt left
    only_step: str | None = None  # --step: the one step that runs
    external: Mapping[str, Any] = field(default_factory=dict)  # --input: that step's given inputs
    cache: TaskCache | None = None  # None: caching off for this run

    @property
    def limit(self) -> int:
        """Tasks at once at most: the pipeline's parallelism, bounded by the pool."""
        return min(self.ir.parallelism or self.workers, self.workers)

    @property
    def run_id(self) -> str:
        return self.run_dir.run_id

    @functools.cached_property
    def run_dir_text(self) -> str:
        return str(self.run_dir.path)

    @functools.cached_property
    def bin_dir(self) -> Path | None:
        """The spec folder's ``bin/``, where commands are looked for first."""
        return Path(self.ir.source.directory) / "bin" if self.ir.source.directory else None

    @functools.cached_property
    def python_path(self) -> tuple[str, ...]:
        """Where Python steps' modules are imported from first: the spec's folder."""
        return (self.ir.source.directory,) if self.ir.source.directory else ()

    @functools.cached_property
    def base_env(self) -> dict[str, str]:
        """The environment every task starts from: constant for a run, so built once."""
        env = dict(self.environ)
        if self.bin_dir is not None and self.bin_dir.is_dir():
            env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
        if self.python_path:
            parts = [*self.python_path, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
            env["PYTHONPATH"] = os.pathsep.join(parts)
        return env


def load_previous(run_dir: RunDirectory, store: ArtifactStore) -> dict[TaskKey, TaskResult]:
    """Tasks a killed or failed run finished, whose artifacts are all still in the store."""
    done: dict[TaskKey, TaskResult] = {}
    for event in read_journal(run_dir.journal_file):
        if event.get("t") != "task":
            continue
        key = (event["step"], event.get("item"))
        if event.get("state") != SUCCEEDED.value:
            done.pop(key, None)
            continue
        result = TaskResult.from_journal(event)
        with contextlib.suppress(FlowyardError):
            if all(store.exists(f.key) for f in result.files.values()):
                done[key] = result
    return done


# The most worker threads a pipeline's own limits make by default: a limit of 1,000 is honoured
# with -O workers=1000, not with a thousand threads nobody asked for.
MAX_DEFAULT_WORKERS = 64


def default_workers(ir: PipelineIR | None = None) -> int:
    """The pool when ``-O workers`` is not given: ``max(4, CPUs)``, or as many as the pipeline's largest
    limit (its ``parallelism``, else its steps'), so that a limit of N means N at once (up to 64)."""
    base = max(4, os.cpu_count() or 1)
    if ir is None:
        return base
    wanted = ir.parallelism or max((s.parallelism or 0 for s in ir.all_steps), default=0)
    return max(base, min(wanted, MAX_DEFAULT_WORKERS))


def pool_notices(ir: PipelineIR, workers: int, given: bool) -> list[str]:
    """What bounds the run's parallelism below what the pipeline allows, one notice each."""
    how = f"-O workers={workers}" if given else f"the default pool, at most {MAX_DEFAULT_WORKERS}; -O workers=N"
    limit = min(ir.parallelism or workers, workers)
    notices = []
    if ir.parallelism is None or ir.parallelism > workers:
        notices.append(
            f"at most {limit} tasks run at once here (-O workers=N); the pipeline sets "
            + ("no limit" if ir.parallelism is None else f"{ir.parallelism}")
        )
    for step in ir.all_steps:
        if step.parallelism is not None and step.parallelism > limit:
            bound = f"the pipeline's parallelism {limit}" if limit < workers else how
            notices.append(f"step {step.name!r} allows {step.parallelism} at once; at most {limit} run here ({bound})")
    return notices
