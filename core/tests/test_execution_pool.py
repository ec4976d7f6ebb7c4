"""flowyard.execution.pool: the global and per-group limits hold at every instant, whatever the workers do."""

from __future__ import annotations

import threading
import time

import pytest
from flowyard.execution.pool import Done, WorkerPool


class _Gauge:
    """Counts jobs running at once, overall and per group, as the workers see them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.peak_total = 0

    def work(self, job: tuple[str, float]) -> str:
        group, seconds = job
        with self.lock:
            self.now[group] = self.now.get(group, 0) + 1
            self.peak[group] = max(self.peak.get(group, 0), self.now[group])
            self.peak_total = max(self.peak_total, sum(self.now.values()))
        time.sleep(seconds)
        with self.lock:
            self.now[group] -= 1
        return f"{group} done"


def _drive(pool: WorkerPool[tuple[str, float], str], jobs: dict[str, int], limits: dict[str, int | None]) -> list[str]:
    """A dispatcher as a runner writes one: start what the limits allow, take results back, repeat."""
    left = dict(jobs)
    results: list[str] = []
    while any(left.values()) or pool.running:
        for group in left:
            for _ in range(min(left[group], pool.room(group, limits[group]))):
                pool.submit(group, (group, 0.002))
                left[group] -= 1
        done = pool.next_done(timeout=5)
        assert done is not None and done.error is None and done.result is not None
        results.append(done.result)
    return results


def test_the_global_and_the_group_limits_hold_at_every_instant() -> None:
    gauge = _Gauge()
    pool: WorkerPool[tuple[str, float], str] = WorkerPool(4, gauge.work)
    pool.start()
    try:
        results = _drive(pool, {"a": 40, "b": 40, "c": 10}, {"a": 1, "b": 3, "c": None})
    finally:
        pool.close()
    assert sorted(results) == sorted(["a done"] * 40 + ["b done"] * 40 + ["c done"] * 10)
    assert gauge.peak["a"] == 1 and gauge.peak["b"] <= 3 and gauge.peak_total <= 4
    assert gauge.peak_total > 1  # it did run jobs side by side
    assert pool.running == 0 and pool.running_in("a") == 0


def test_room_counts_slots_until_the_result_is_taken_back() -> None:
    release = threading.Event()
    pool: WorkerPool[str, str] = WorkerPool(2, lambda job: job if release.wait(5) else "")
    pool.start()
    try:
        pool.submit("g", "one")
        assert (pool.room("g", 1), pool.room("g", 5), pool.room("other")) == (0, 1, 1)
        release.set()
        time.sleep(0.05)
        assert pool.room("g", 1) == 0  # finished, but not taken back: the slot is still held
        done = pool.next_done(timeout=5)
        assert done == Done("g", "one", "one")
        assert pool.room("g", 1) == 1 and pool.next_done(timeout=0) is None
    finally:
        pool.close()


def test_a_job_that_raises_comes_back_with_its_error_and_frees_its_slot() -> None:
    def work(job: int) -> int:
        if job == 2:
            raise RuntimeError("bug in the runner")
        return job * 10

    pool: WorkerPool[int, int] = WorkerPool(1, work)
    pool.start()
    try:
        for job in (1, 2, 3):
            pool.submit("g", job)
        got = [pool.next_done(timeout=5) for _ in range(3)]
    finally:
        pool.close()
    assert [(d.job, d.result) for d in got if d is not None] == [(1, 10), (2, None), (3, 30)]
    assert isinstance(got[1].error if got[1] else None, RuntimeError)
    assert pool.running == 0


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        WorkerPool(0, lambda job: job)
