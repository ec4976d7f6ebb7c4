"""The cost of flowyard.execution.pool.WorkerPool's hand-off against the two bare queues it replaced.

    uv run python benchmarks/bench_pool.py

The local scheduler handed batches to its workers through a ``queue.SimpleQueue`` and took results back
through another, counting slots in its own attributes; the pool does the same plus a per-group count and a
``Done`` record per job. Figures: microseconds per job for a no-op job (the hand-off alone: what a
no-op task's batch pays), through the pool and through the bare queues, same threads, interleaved in
this run, median of repeats. End-to-end figures are bench_local.py's.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time

from flowyard.execution.pool import WorkerPool

JOBS = 20_000
WORKERS = 2
IN_FLIGHT = 2  # as the scheduler keeps its workers busy: one job per free slot
REPEATS = 7


def _noop(job: int) -> int:
    return job


def through_pool() -> float:
    pool: WorkerPool[int, int] = WorkerPool(WORKERS, _noop)
    pool.start()
    start = time.perf_counter()
    sent = 0
    while sent < JOBS or pool.running:
        while sent < JOBS and pool.room("step", IN_FLIGHT):
            pool.submit("step", sent)
            sent += 1
        pool.next_done(0.25)
    elapsed = time.perf_counter() - start
    pool.close()
    return elapsed / JOBS * 1e6


def through_bare_queues() -> float:
    inbox: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()

    def serve() -> None:
        while (job := inbox.get()) is not None:
            outbox.put((job, _noop(job)))

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    sent = running = 0
    while sent < JOBS or running:
        while sent < JOBS and running < IN_FLIGHT:
            running += 1
            inbox.put(sent)
            sent += 1
        try:
            outbox.get(timeout=0.25)
            running -= 1
        except queue.Empty:
            pass
    elapsed = time.perf_counter() - start
    for _ in threads:
        inbox.put(None)
    return elapsed / JOBS * 1e6


def main() -> None:
    ours, base = [], []
    for _ in range(REPEATS):
        ours.append(through_pool())
        base.append(through_bare_queues())
    mine, theirs = statistics.median(ours), statistics.median(base)
    print(
        f"{JOBS:,} no-op jobs, {WORKERS} workers: pool {mine:5.1f} us/job ({min(ours):.1f}-{max(ours):.1f})   "
        f"bare queues {theirs:5.1f} us/job ({min(base):.1f}-{max(base):.1f})   ratio {mine / theirs:.2f}"
    )


if __name__ == "__main__":
    main()
