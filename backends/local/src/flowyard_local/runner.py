"""The DAG scheduler: one thread dispatches tasks, a fixed pool of worker threads runs them.

Parallelism means what it means on a cluster: at no instant do more tasks run than the pipeline's
limit, nor more items of a step than the step's limit (the dispatcher counts, the workers obey).
A step starts when every step it depends on has finished all its items, as Argo and KFP do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flowyard import __version__
from flowyard.execution.journal import Journal
from flowyard.execution.pool import Done, WorkerPool
from flowyard.execution.processes import Watchdog
from flowyard.execution.streams import route_task_output, unroute_task_output
from flowyard.ir import StepIR, StepOutputSource
from flowyard.runs import RunStatus, TaskState, task_key

from flowyard_local.context import RunContext
from flowyard_local.plan import RunPlan
from flowyard_local.report import pipeline_outputs, task_rows
from flowyard_local.resolution import InputResolver, sources_of
from flowyard_local.stepstate import StepState
from flowyard_local.taskdata import (
    ERROR,
    FAILED,
    OMITTED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    TaskError,
    TaskPlan,
    TaskResult,
)
from flowyard_local.tasks import Task

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


class Scheduler:
    """Runs a plan: dispatches its tasks to the worker pool, in order and within its limits, and records them."""

    def __init__(self, plan: RunPlan, on_event: Callable[[str, Any], None] | None = None) -> None:
        self.plan = plan
        self.limit = plan.limit
        self.steps = {s.name: StepState(s) for s in plan.ir.steps}
        self.order = [s.name for s in plan.ir.steps]
        self.on_event = on_event or (lambda kind, data: None)
        self.stop = threading.Event()
        self.ctx = RunContext(plan, stop=self.stop, watchdog=Watchdog(plan.run_id))
        self.inputs = InputResolver(self.ctx, self.steps)
        self.journal = Journal(plan.run_dir.journal_file)
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
        self.journal.append({"t": "run", "run_id": self.plan.run_id, "at": time.time(), "resumed": self.plan.resumed})
        try:
            self._loop()
            self._run_on_exit()
        except KeyboardInterrupt:
            self._interrupt("interrupted")
        finally:
            self.pool.close()
            unroute_task_output()
            self.journal.close()
            if self.ctx.watchdog is not None:
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
                if self.plan.only_step is not None and name != self.plan.only_step:
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
                go = self.inputs.condition(st.ir.when)
            except TaskError as e:
                self._finish_step(st, ERROR, str(e))
                return
            if not go:
                self._finish_step(st, SKIPPED, f"when {st.ir.when.text!r} was false")
                return
        if st.ir.for_each is not None:
            try:
                st.items = self.inputs.items(st.ir)
            except TaskError as e:
                self._finish_step(st, ERROR, str(e))
                return
            st.count = len(st.items)
            if st.ir.for_each.over_fanout and not self.inputs.given_items(st.ir):
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
        if self.plan.only_step is not None:
            return ""
        collected = {s.step for s in sources_of(st.ir) if isinstance(s, StepOutputSource) and s.collect}
        over = st.ir.for_each.source if st.ir.for_each is not None and st.ir.for_each.over_fanout else None
        for dep in st.ir.depends_on:
            up = self.steps[dep]
            if isinstance(over, StepOutputSource) and over.step == dep:
                continue  # per item: failed upstream items are omitted one by one
            if dep in collected and up.outcome is None and up.fanned_out:
                continue  # fan-in takes what succeeded; failed items are null/missing
            if up.outcome == SKIPPED and dep in st.ir.depends_on and not self._consumes(st.ir, dep):
                continue  # ordering only: a skipped step counts as done, as in Argo
            if up.failed() or up.outcome in (SKIPPED, OMITTED):
                what = (
                    "was skipped"
                    if up.outcome == SKIPPED
                    else "was omitted"
                    if up.outcome == OMITTED
                    else "did not succeed"
                )
                return f"upstream step {dep!r} {what}"
        return ""

    def _consumes(self, step: StepIR, dep: str) -> bool:
        return any(isinstance(s, StepOutputSource) and s.step == dep for s in sources_of(step))

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
        previous = self.plan.previous
        item = st.index(i)
        replay = False
        if st.omitted_items and i in st.omitted_items:
            settled = TaskResult(st.ir.name, item, OMITTED, message=st.omitted_items[i])
        elif previous and (prev := previous.get((st.ir.name, item))) is not None:
            settled, replay = prev, True
        else:
            try:
                return self.inputs.task_plan(st, i)
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
        step = self.plan.ir.on_exit
        if step is None or self.infrastructure or self.interrupted or self.plan.only_step:
            return
        status = "Succeeded" if not any(s.failed() for s in self.steps.values()) else "Failed"
        st = StepState(step)
        inputs = {i.name: self.inputs.resolve(st, i.name, i.type, i.source, 0) for i in step.inputs}
        self.stop.clear()
        self.pool.submit(step.name, [TaskPlan(step, None, None, inputs, run_status=status, collects=True)])
        while self.on_exit_result is None:
            done = self.pool.next_done(0.25)
            if done is not None:
                self._record_batch(done)

    # --- reporting ---------------------------------------------------------------------------

    def task_rows(self) -> list[TaskResult]:
        """Every task's result, in step and item order (``report``)."""
        return task_rows(self.steps, self.on_exit_result)

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
            message = f"{self.interrupted}; continue with: flowyard run --resume {self.plan.run_id}"
        elif failed:
            bad = [r for r in rows if r.state in (FAILED, ERROR)]
            if bad:
                first = bad[0]
                message = f"{len(bad)} task(s) failed; first: {task_key(first.step, first.item)}: {first.message}"
        return RunStatus(
            run_id=self.plan.run_id,
            pipeline=self.plan.ir.name,
            backend="local",
            state=state,
            started_at=self.started_at,
            finished_at=None if state == RUNNING else time.time(),
            tasks=rows,  # TaskResults are TaskStatuses: taken as they are, 10,000 tasks stay cheap
            message=message,
            notices=self.plan.notices,
            outputs=pipeline_outputs(self.plan.ir, self.steps, self.plan.store) if state != RUNNING else {},
            location=str(self.plan.run_dir.path.resolve()),
            flowyard_version=__version__,
        )


__all__ = ["Scheduler", "StepState"]
