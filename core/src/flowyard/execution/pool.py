"""A fixed pool of worker threads with counted slots: a global limit and one per group, at every instant.

A runner's dispatcher owns the pool: it asks :meth:`WorkerPool.room` how many jobs a group may start,
submits them, and takes each result back with :meth:`WorkerPool.next_done`, which frees the job's
slot. The counts change only on the dispatcher's thread (submitting and taking back), so they need no
lock and a limit holds however the workers interleave. A job may be a batch of tasks: it holds one
slot however many it runs, so batching saves queue hand-offs without loosening a limit. Threads are
made once (not one per task: a thread's start costs more than a small task) and never block a
process's exit (daemons): a run that is interrupted does not wait for a stuck task to return.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class Done(Generic[JobT, ResultT]):
    """A job back from a worker: its result, or the exception its work raised (``result`` then None)."""

    group: str
    job: JobT
    result: ResultT | None
    error: BaseException | None = None


class WorkerPool(Generic[JobT, ResultT]):
    """``workers`` threads running ``work(job)``; at most ``workers`` jobs hold a slot at once."""

    def __init__(self, workers: int, work: Callable[[JobT], ResultT], *, name: str = "flowyard-worker") -> None:
        if workers < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {workers}")
        self.workers = workers
        self._work = work
        self._name = name
        self._inbox: queue.SimpleQueue[tuple[str, JobT] | None] = queue.SimpleQueue()  # None: stop
        self._outbox: queue.SimpleQueue[Done[JobT, ResultT]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._by_group: dict[str, int] = {}

    @property
    def running(self) -> int:
        """Jobs submitted whose result has not been taken back yet."""
        return self._running

    def running_in(self, group: str) -> int:
        """Jobs of ``group`` holding a slot."""
        return self._by_group.get(group, 0)

    def room(self, group: str, group_limit: int | None = None) -> int:
        """How many more jobs of ``group`` may start now: under the global limit and the group's (None: none)."""
        free = self.workers - self._running
        if group_limit is not None:
            free = min(free, group_limit - self._by_group.get(group, 0))
        return max(0, free)

    def start(self) -> None:
        """Start the threads (once); jobs submitted before wait in the queue."""
        if self._threads:
            return
        self._threads = [
            threading.Thread(target=self._serve, name=f"{self._name}-{i}", daemon=True) for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, group: str, job: JobT) -> None:
        """Hand a job to the next free worker; it holds a slot of ``group`` until :meth:`next_done` returns it.

        Limits are the caller's to check with :meth:`room` (a job that must run whatever the limits, as a
        run's exit handler, is submitted without asking)."""
        self._running += 1
        self._by_group[group] = self._by_group.get(group, 0) + 1
        self._inbox.put((group, job))

    def next_done(self, timeout: float | None = None) -> Done[JobT, ResultT] | None:
        """The next finished job, its slot freed; None if none finished within ``timeout`` seconds (0: don't wait)."""
        try:
            done = self._outbox.get_nowait() if timeout == 0 else self._outbox.get(timeout=timeout)
        except queue.Empty:
            return None
        self._running -= 1
        left = self._by_group[done.group] - 1
        if left:
            self._by_group[done.group] = left
        else:
            del self._by_group[done.group]
        return done

    def close(self) -> None:
        """Let every worker end once the jobs queued before are taken (a job under way is not waited for)."""
        for _ in self._threads:
            self._inbox.put(None)
        self._threads = []

    def _serve(self) -> None:
        while True:
            entry = self._inbox.get()
            if entry is None:
                return
            group, job = entry
            try:
                self._outbox.put(Done(group, job, self._work(job)))
            except BaseException as e:  # noqa: BLE001 - handed to the dispatcher: a lost slot would hang the run
                self._outbox.put(Done(group, job, None, e))
