"""The DAG scheduler: one thread dispatches tasks, a fixed pool of worker threads runs them.

Parallelism means what it means on a cluster: at no instant do more tasks run than the pipeline's
limit, nor more items of a step than the step's limit (the dispatcher counts, the workers obey).
A step starts when every step it depends on has finished all its items, as Argo and KFP do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyard import __version__
from flowyard.errors import FlowyardError
from flowyard.execution.journal import Journal
from flowyard.execution.pool import Done, WorkerPool
from flowyard.execution.processes import Watchdog
from flowyard.execution.streams import route_task_output, unroute_task_output
from flowyard.ir import (
    OPERATORS,
    ConditionIR,
    ItemSource,
    LiteralSource,
    ParamSource,
    PipelineIR,
    Source,
    StepIR,
    StepOutputSource,
    TemplateSource,
)
from flowyard.runs import RunDirectory, RunStatus, TaskState, read_journal, task_key
from flowyard.store import ArtifactStore

from flowyard_local.tasks import (
    ERROR,
    FAILED,
    OMITTED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    FileRef,
    ResolvedInput,
    RunContext,
    Task,
    TaskError,
    TaskPlan,
    TaskResult,
    dig,
)

log = logging.getLogger(__name__)

# Adaptive batching (joblib's auto batch size, OpenMP's guided schedule): a worker takes a run of
# items of one step and runs them one after another. A batch holds one parallelism slot, so the
# limits still hold at every instant; it only saves the per-item queue hand-offs and thread
# wake-ups that dominate when items take microseconds. Sized to take about BATCH_SECONDS, and
# never more than a share of what is left, so the tail stays balanced across workers. A batch's
# results reach the journal when the batch ends, so MAX_BATCH also bounds what a SIGKILL loses.
BATCH_SECONDS = 0.02
MAX_BATCH = 64

_JOURNALED = (SUCCEEDED, FAILED, ERROR, OMITTED)  # final states


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
        if self.outcome in (OMITTED, FAILED, ERROR):
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


class Scheduler:
    def __init__(
        self,
        ir: PipelineIR,
        params: Mapping[str, Any],
        run_dir: RunDirectory,
        store: ArtifactStore,
        *,
        workers: int,
        environ: Mapping[str, str],
        notices: tuple[str, ...] = (),
        python_subprocess: bool = False,
        store_in_run_dir: bool = True,
        previous: Mapping[tuple[str, int | None], TaskResult] | None = None,
        resumed: bool = False,
        only_step: str | None = None,
        external: Mapping[str, Any] | None = None,
        on_event: Callable[[str, Any], None] | None = None,
        cache: Any = None,
    ) -> None:
        self.ir = ir
        self.params = params
        self.run_dir = run_dir
        self.workers = workers
        self.limit = min(ir.parallelism or workers, workers)
        self.steps = {s.name: StepState(s) for s in ir.steps}
        self.order = [s.name for s in ir.steps]
        self.previous = dict(previous or {})
        self.only_step = only_step
        self.external = dict(external or {})
        self.on_event = on_event or (lambda kind, data: None)
        self.stop = threading.Event()
        self.ctx = RunContext(
            run_id=run_dir.run_id,
            run_dir=run_dir.path,
            pipeline=ir.name,
            store=store,
            params=params,
            environ=environ,
            bin_dir=Path(ir.source.directory) / "bin" if ir.source.directory else None,
            python_path=(ir.source.directory,) if ir.source.directory else (),
            stop=self.stop,
            python_subprocess=python_subprocess,
            resumed=resumed,
            store_in_run_dir=store_in_run_dir,
            notices=notices,
            cache=cache,
            watchdog=Watchdog(run_dir.run_id),
        )
        self.journal = Journal(run_dir.journal_file)
        self.debug = log.isEnabledFor(logging.DEBUG)  # asked once: a task's line costs a no-op item 10 %
        # a job is a batch of one step's tasks, its group the step: it holds one slot of the step's limit
        self.pool: WorkerPool[list[TaskPlan], list[TaskResult]] = WorkerPool(self.limit, self._run_batch)
        self.stopping = False
        self.infrastructure: str | None = None
        self.interrupted: str | None = None
        self.started_at = time.time()
        self.on_exit_result: TaskResult | None = None

    # --- the main loop -----------------------------------------------------------------------

    def execute(self) -> RunStatus:
        route_task_output()
        self.pool.start()
        self.journal.append({"t": "run", "run_id": self.run_dir.run_id, "at": time.time(), "resumed": self.ctx.resumed})
        try:
            self._loop()
            self._run_on_exit()
        except KeyboardInterrupt:
            self._interrupt("interrupted")
        finally:
            self.pool.close()
            unroute_task_output()
            self.journal.close()
            self.ctx.watchdog.close()
            self.ctx.close_step_files()
        return self.status()

    def _loop(self) -> None:
        self._activate_ready()
        while True:
            self._dispatch()
            if self.pool.running == 0 and (self.stopping or self._all_done()):
                break
            done = self.pool.next_done(self.journal.interval)
            if done is None:
                continue  # (the journal commits on its own thread, idle or not)
            self._record_batch(done)
            while (done := self.pool.next_done(0)) is not None:  # drain whatever else finished, then dispatch once
                self._record_batch(done)
        if self.stopping:
            self._omit_the_rest()

    def _run_batch(self, batch: list[TaskPlan]) -> list[TaskResult]:
        """On a worker thread: a batch's tasks one after another, until one stops the run."""
        results: list[TaskResult] = []
        for plan in batch:
            if results and self.stopping:  # the run is stopping: what has not started stays unrun
                break
            result = self._run_task(plan)
            results.append(result)
            if result.state is SUCCEEDED:
                continue
            if result.infrastructure or (not result.state.ok and plan.step.failure_policy == "stop"):
                break  # the run stops: the rest of the batch goes back unrun
        return results

    def _run_task(self, plan: TaskPlan) -> TaskResult:
        if self.debug:
            log.debug("task %s starts", task_key(plan.step.name, plan.item))
        try:
            return Task(self.ctx, plan).run()
        except Exception as e:  # noqa: BLE001 - a bug in the runner itself: reported on the task, not hidden
            now = time.time()
            return TaskResult(plan.step.name, plan.item, ERROR, now, now, message=f"{type(e).__name__}: {e}")

    def _interrupt(self, why: str) -> None:
        self.interrupted = why
        self.stop.set()
        self.stopping = True
        self.ctx.kill_all()
        deadline = time.time() + 5
        while self.pool.running and time.time() < deadline:
            done = self.pool.next_done(0.1)
            if done is not None:
                self._record_batch(done, interrupted=True)
            else:
                self.ctx.kill_all()
        self._omit_the_rest()

    # --- step activation ---------------------------------------------------------------------

    def _all_done(self) -> bool:
        return all(s.phase == "done" for s in self.steps.values())

    def _activate_ready(self) -> None:
        changed = True
        while changed:
            changed = False
            for name in self.order:
                st = self.steps[name]
                if st.phase != "waiting" or self.stopping:
                    continue
                if self.only_step is not None and name != self.only_step:
                    st.phase, st.outcome = "done", SKIPPED
                    st.message = "not selected (--step)"
                    changed = True
                    continue
                if any(self.steps[d].phase != "done" for d in st.ir.depends_on if d in self.steps):
                    continue
                self._activate(st)
                changed = True

    def _activate(self, st: StepState) -> None:
        reason = self._blocked_by_upstream(st)
        if reason:
            self._finish_step(st, OMITTED, reason)
            return
        if st.ir.when is not None:
            try:
                go = self._condition(st.ir.when)
            except TaskError as e:
                self._finish_step(st, ERROR, str(e))
                return
            if not go:
                self._finish_step(st, SKIPPED, f"when {st.ir.when.text!r} was false")
                return
        if st.ir.for_each is not None:
            try:
                st.items = self._items(st.ir)
            except TaskError as e:
                self._finish_step(st, ERROR, str(e))
                return
            st.count = len(st.items)
            if st.ir.for_each.over_fanout and not self._given_items(st.ir):
                src = st.ir.for_each.source
                assert isinstance(src, StepOutputSource)
                up = self.steps[src.step]
                for i in range(st.count):
                    if up.ok_result(i) is None:
                        st.omitted_items[i] = f"upstream {src.step}[{i}] did not succeed"
        st.phase = "active"
        self.on_event("step", st)
        if st.count == 0:
            self._maybe_finish(st)

    def _blocked_by_upstream(self, st: StepState) -> str:
        """Why the step cannot run at all, given how its upstream steps ended ('' if it can)."""
        if self.only_step is not None:
            return ""
        collected = {s.step for s in self._sources(st.ir) if isinstance(s, StepOutputSource) and s.collect}
        over = st.ir.for_each.source if st.ir.for_each is not None and st.ir.for_each.over_fanout else None
        for dep in st.ir.depends_on:
            up = self.steps[dep]
            if isinstance(over, StepOutputSource) and over.step == dep:
                continue  # per item: failed upstream items are omitted one by one
            if dep in collected and up.outcome is None and up.fanned_out:
                continue  # fan-in takes what succeeded; failed items are null/missing
            if up.outcome == SKIPPED and dep in st.ir.depends_on and not self._consumes(st.ir, dep):
                continue  # ordering only: a skipped step counts as done, as in Argo
            if up.failed() or up.outcome == SKIPPED:
                what = "was skipped" if up.outcome == SKIPPED else "did not succeed"
                return f"upstream step {dep!r} {what}"
        return ""

    def _consumes(self, step: StepIR, dep: str) -> bool:
        return any(isinstance(s, StepOutputSource) and s.step == dep for s in self._sources(step))

    @staticmethod
    def _sources(step: StepIR) -> list[Source]:
        sources: list[Source] = [i.source for i in step.inputs]
        if step.for_each is not None:
            sources.append(step.for_each.source)
        if step.when is not None:
            sources += [step.when.left, step.when.right]
        return sources

    def _given_items(self, step: StepIR) -> bool:
        return self.only_step == step.name and "for_each" in self.external

    def _items(self, step: StepIR) -> list[Any]:
        assert step.for_each is not None
        src = step.for_each.source
        if self._given_items(step):
            value = self.external["for_each"]
        elif step.for_each.over_fanout:
            assert isinstance(src, StepOutputSource)
            return [None] * self.steps[src.step].count
        else:
            value = self._value_of(src, None, None)
        if not isinstance(value, list):
            raise TaskError(f"for_each needs a list, got {json.dumps(value)[:80]}")
        return value

    def _condition(self, cond: ConditionIR) -> bool:
        left = self._value_of(cond.left, None, None)
        right = self._value_of(cond.right, None, None)
        try:
            return bool(OPERATORS[cond.op](left, right))
        except TypeError:
            raise TaskError(f"cannot compare {left!r} {cond.op} {right!r} in when {cond.text!r}") from None

    def _value_of(self, src: Source, step: StepIR | None, item: int | None) -> Any:
        if isinstance(src, LiteralSource):
            return src.value
        if isinstance(src, ParamSource):
            return self.params[src.name]
        if isinstance(src, StepOutputSource):
            up = self.steps[src.step]
            if up.fanned_out:
                return [r.values.get(src.output) if (r := up.ok_result(i)) else None for i in range(up.count)]
            r = up.ok_result(None)
            if r is None:
                raise TaskError(f"step {src.step!r} has no result")
            return r.values.get(src.output)
        raise TaskError(f"cannot evaluate {src.kind} here")

    # --- dispatching -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self.stopping:
            return
        for name in self.order:
            st = self.steps[name]
            if st.phase != "active":
                continue
            step_limit = st.ir.parallelism or st.count
            while st.next < st.count and self.pool.room(name, step_limit):
                size = self._batch_size(st, min(step_limit, self.limit))
                batch: list[TaskPlan] = []
                while len(batch) < size and st.next < st.count:
                    plan = self._next_plan(st)
                    if plan is not None:
                        batch.append(plan)
                if batch:
                    st.running += 1
                    self.pool.submit(name, batch)
            if self.pool.running >= self.pool.workers:
                return

    def _next_plan(self, st: StepState) -> TaskPlan | None:
        """The step's next task to run; None when it is settled without running (omitted, resumed, error)."""
        i = st.next
        st.next += 1
        item = st.index(i)
        replay = False
        if st.omitted_items and i in st.omitted_items:
            settled = TaskResult(st.ir.name, item, OMITTED, message=st.omitted_items[i])
        elif self.previous and (prev := self.previous.get((st.ir.name, item))) is not None:
            settled, replay = prev, True
        else:
            try:
                return self._plan(st, i)
            except TaskError as e:
                now = time.time()
                settled = TaskResult(st.ir.name, item, ERROR, now, now, message=str(e))
        self._record(settled, replay=replay)
        self._maybe_finish(st)
        return None

    @staticmethod
    def _batch_size(st: StepState, slots: int) -> int:
        """Items per hand-off: about BATCH_SECONDS of work, at most a fair share of what is left."""
        if st.timed == 0:
            return 1
        mean = st.busy / st.timed
        wanted = int(BATCH_SECONDS / mean) if mean > 0 else MAX_BATCH
        share = -(-(st.count - st.next) // (2 * slots))
        return max(1, min(wanted, share, MAX_BATCH))

    def _plan(self, st: StepState, i: int) -> TaskPlan:
        inputs = {}
        for inp in st.ir.inputs:
            inputs[inp.name] = self._resolve(st, inp.name, inp.type, inp.source, i)
        collects = st.collects
        if st.items is None:
            return TaskPlan(st.ir, None, None, inputs, "Succeeded", collects)
        return TaskPlan(st.ir, i, st.items[i], inputs, "Succeeded", collects)

    def _resolve(self, st: StepState, name: str, type_: str, src: Source, i: int) -> ResolvedInput:
        step = st.ir
        alone = self.only_step is not None and self.only_step == step.name  # run with --step: inputs may be given
        if alone and isinstance(src, (StepOutputSource, ItemSource)) and name in self.external:
            return self._external_input(name, type_, self.external[name])
        if isinstance(src, ItemSource):  # first: the common case, at 10,000 items a second or more
            assert step.for_each is not None and st.items is not None
            if alone and self._given_items(step):
                value = dig(st.items[i], src.fields)
                if type_ == "file":
                    return self._external_input(name, type_, value, f"item-{i:06d}")
                return ResolvedInput(name, type_, value=value, source=f"item[{i}]")
            if step.for_each.over_fanout:
                up_src = step.for_each.source
                assert isinstance(up_src, StepOutputSource)
                return self._upstream_item(name, type_, up_src.step, up_src.output, i, src.fields)
            value = st.items[i] if not src.fields else dig(st.items[i], src.fields)
            return ResolvedInput(name, type_, value, None, None, f"item[{i}]")
        if isinstance(src, LiteralSource):
            return ResolvedInput(name, type_, value=src.value, source="literal")
        if isinstance(src, ParamSource):
            return ResolvedInput(name, type_, value=self.params[src.name], source=f"params.{src.name}")
        if isinstance(src, TemplateSource):
            task = Task(self.ctx, TaskPlan(step, st.index(i), st.items[i] if st.items is not None else None, {}))
            return ResolvedInput(name, type_, value=task.render(src.template), source="template")
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        if self.only_step == step.name:
            raise TaskError(f"input {name!r} comes from step {src.step!r}: give it with --input {name}=...")
        if not src.collect:
            return self._upstream_item(name, type_, src.step, src.output, None, ())
        where = f"steps.{src.step}.outputs.{src.output}[*]"
        failed = tuple(j for j in range(up.count) if up.ok_result(j) is None)
        if type_ == "file":
            files = []
            for j in range(up.count):
                r = up.ok_result(j)
                files.append((j, r.files.get(src.output) if r else None))
            return ResolvedInput(name, "file", files=files, source=where, failed_items=failed)
        values = [r.values.get(src.output) if (r := up.ok_result(j)) else None for j in range(up.count)]
        return ResolvedInput(name, type_, value=values, source=where, failed_items=failed)

    def _upstream_item(
        self, name: str, type_: str, step: str, output: str, i: int | None, fields: tuple[str, ...]
    ) -> ResolvedInput:
        up = self.steps[step]
        r = up.ok_result(i)
        where = f"steps.{step}.outputs.{output}" + (f"[{i}]" if i is not None else "")
        if r is None:
            raise TaskError(f"{where} is not available")
        if output in r.files:
            return ResolvedInput(name, "file", file=r.files[output], source=where)
        return ResolvedInput(name, type_, value=dig(r.values.get(output), fields, where), source=where)

    def _external_input(self, name: str, type_: str, given: Any, tag: str = "given") -> ResolvedInput:
        if type_ == "file":
            path = Path(given)
            if not path.exists():
                raise TaskError(f"--input {name}={given}: no such file or folder")
            key = self._import_external(f"{name}/{tag}", path)
            if path.is_dir():
                files: list[tuple[int, FileRef | None]] = [(j, FileRef(k)) for j, k in enumerate(key)]
                return ResolvedInput(name, "file", files=files, source=f"--input {name}")
            return ResolvedInput(name, "file", file=FileRef(key[0]), source=f"--input {name}")
        return ResolvedInput(name, type_, value=given, source=f"--input {name}")

    def _import_external(self, name: str, path: Path) -> list[str]:
        """Copy a user-given file (or a fan-in folder of item folders) into the run's store."""
        files = (
            [path]
            if path.is_file()
            else [f for d in sorted(path.iterdir()) for f in sorted(d.rglob("*")) if f.is_file()]
        )
        keys = []
        for j, f in enumerate(files):
            key = f"external/{name}/{j:06d}/{f.name}"  # name is "<input>/<tag>": unique per task
            self.ctx.store.put_file(f, key)
            keys.append(key)
        return keys

    # --- results -----------------------------------------------------------------------------

    def _record_batch(self, done: Done[list[TaskPlan], list[TaskResult]], *, interrupted: bool = False) -> None:
        """A worker's batch came back (its slot freed): record what ran, keep what it handed back."""
        if done.error is not None:  # a bug in the runner itself, outside any task: not hidden
            raise done.error
        batch, results = done.job, done.result or []
        st = self.steps.get(done.group)
        if st is not None:
            st.running -= 1
            for r in results:
                st.busy += (r.finished_at or 0.0) - (r.started_at or 0.0)
            st.timed += len(results)
            st.unrun += [p.item if p.item is not None else 0 for p in batch[len(results) :]]
        recorded = [self._record(r, interrupted=interrupted, journal=False) for r in results]
        journaled = [r for r in recorded if r.state in _JOURNALED]
        if journaled:
            self.journal.append(TaskResult.journal_group(journaled))  # one line for the batch
        if st is not None:
            self._maybe_finish(st)

    def _record(
        self, result: TaskResult, *, replay: bool = False, interrupted: bool = False, journal: bool = True
    ) -> TaskResult:
        """Keep a task's result (journaled unless the caller journals a group); the result as kept."""
        st = self.steps.get(result.step)
        if st is None:  # the on-exit step
            self.on_exit_result = result
            if journal:
                self._journal(result)
            return result
        if interrupted and result.state is not SUCCEEDED:
            result = TaskResult(
                result.step,
                result.item,
                FAILED,
                result.started_at,
                result.finished_at,
                result.attempts,
                result.exit_code,
                f"stopped ({self.interrupted})",
            )
        ok = result.state is SUCCEEDED or result.state.ok
        st.add(result)
        st.finished += 1
        if journal and not replay:
            self._journal(result)
        if ok:
            return result
        self.on_event("failure", result)  # progress shows failures; successes are counted, not announced
        if result.infrastructure:
            self.infrastructure = self.infrastructure or result.message
            self.stopping = True
        elif st.ir.failure_policy == "stop" and not interrupted:
            self.stopping = True
        return result

    def _journal(self, result: TaskResult) -> None:
        if result.state in _JOURNALED:
            self.journal.append(result.journal_event())

    def _maybe_finish(self, st: StepState) -> None:
        if st.phase == "active" and st.finished >= st.count:
            st.phase = "done"
            self.on_event("step", st)
            self._activate_ready()

    def _finish_step(self, st: StepState, outcome: TaskState, message: str) -> None:
        st.phase, st.outcome, st.message = "done", outcome, message
        self.on_event("step", st)
        if outcome == ERROR and st.ir.failure_policy == "stop":
            self.stopping = True

    def _omit_the_rest(self) -> None:
        why = (self.infrastructure and "stopped: artifact store unavailable") or (
            f"not run: the run was {self.interrupted}" if self.interrupted else "not run: an earlier task failed"
        )
        for st in self.steps.values():
            if st.phase == "waiting":
                st.phase, st.outcome, st.message = "done", OMITTED, why
            elif st.phase == "active":
                for i in [*st.unrun, *range(st.next, st.count)]:
                    st.add(TaskResult(st.ir.name, st.index(i), OMITTED, message=why))
                st.next = st.count
                st.finished = st.count
                st.phase = "done"

    # --- the on-exit step --------------------------------------------------------------------

    def _run_on_exit(self) -> None:
        step = self.ir.on_exit
        if step is None or self.infrastructure or self.interrupted or self.only_step:
            return
        status = "Succeeded" if not any(s.failed() for s in self.steps.values()) else "Failed"
        st = StepState(step)
        inputs = {i.name: self._resolve(st, i.name, i.type, i.source, 0) for i in step.inputs}
        self.stop.clear()
        self.pool.submit(step.name, [TaskPlan(step, None, None, inputs, run_status=status, collects=True)])
        while self.on_exit_result is None:
            done = self.pool.next_done(0.25)
            if done is not None:
                self._record_batch(done)

    # --- reporting ---------------------------------------------------------------------------

    def task_rows(self) -> list[TaskResult]:
        """Every task's result, in step and item order; a step settled as a whole counts as one task."""
        rows: list[TaskResult] = []
        for name in self.order:
            st = self.steps[name]
            if st.outcome is not None and not st.results:
                rows.append(TaskResult(name, None, st.outcome, message=st.message))
                continue
            results = st.results
            if st.fanned_out:
                rows += [results[i] for i in sorted(results)]  # type: ignore[type-var]
            elif None in results:
                rows.append(results[None])
        if self.on_exit_result is not None:
            rows.append(self.on_exit_result)
        return rows

    def outputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for po in self.ir.outputs:
            up = self.steps[po.source.step]
            if po.source.collect:
                out[po.name] = [self._output_value(up.ok_result(i), po.source.output) for i in range(up.count)]
            else:
                out[po.name] = self._output_value(up.ok_result(None), po.source.output)
        return out

    def _output_value(self, r: TaskResult | None, output: str) -> Any:
        if r is None:
            return None
        if output in r.files:
            return self.ctx.store.uri(r.files[output].key)
        return r.values.get(output)

    def status(self) -> RunStatus:
        rows = self.task_rows()
        failed = any(st.failed() for st in self.steps.values()) or (
            self.on_exit_result is not None and not self.on_exit_result.state.ok
        )
        if self.interrupted or self.infrastructure:
            state = ERROR if self.infrastructure else FAILED
        elif self.pool.running or any(s.phase != "done" for s in self.steps.values()):
            state = RUNNING
        else:
            state = FAILED if failed else SUCCEEDED
        message = ""
        if self.infrastructure:
            message = self.infrastructure
        elif self.interrupted:
            message = f"{self.interrupted}; continue with: flowyard run --resume {self.run_dir.run_id}"
        elif failed:
            bad = [r for r in rows if r.state in (FAILED, ERROR)]
            if bad:
                first = bad[0]
                message = f"{len(bad)} task(s) failed; first: {task_key(first.step, first.item)}: {first.message}"
        return RunStatus(
            run_id=self.run_dir.run_id,
            pipeline=self.ir.name,
            backend="local",
            state=state,
            started_at=self.started_at,
            finished_at=None if state == RUNNING else time.time(),
            tasks=rows,  # TaskResults are TaskStatuses: taken as they are, 10,000 tasks stay cheap
            message=message,
            notices=self.ctx.notices,
            outputs=self.outputs() if state != RUNNING else {},
            location=str(self.run_dir.path.resolve()),
            flowyard_version=__version__,
        )


def load_previous(run_dir: RunDirectory, store: ArtifactStore) -> dict[tuple[str, int | None], TaskResult]:
    """Tasks a killed or failed run finished, whose artifacts are all still in the store."""
    done: dict[tuple[str, int | None], TaskResult] = {}
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


__all__ = ["Scheduler", "default_workers", "load_previous", "pool_notices"]
