"""The cost of routing in-process tasks' output by thread (flowyard/execution/streams.py).

    uv run python benchmarks/bench_streams.py

Every ``print`` of an in-process task, and every write of the caller's other threads during a run,
goes through the router. Figures: nanoseconds per ``write`` through the router, in a task (to the
task's log) and outside one (to the real stream), against the same write made to the same sink
directly, measured in this run, interleaved, median of repeats.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from flowyard.execution import streams

WRITES = 200_000
REPEATS = 9


class Sink:
    """Stands for a task's log (``append``) and for the real stream (``write``), costing the same."""

    def __init__(self) -> None:
        self.count = 0

    def append(self, text: str) -> None:
        self.count += 1

    def add(self, index: int, text: str) -> None:  # as a task's CapturedOutput is written to
        self.count += 1

    def write(self, text: str) -> int:
        self.count += 1
        return len(text)

    def flush(self) -> None:
        pass


def per_write_ns(write: Any) -> float:
    start = time.perf_counter()
    for _ in range(WRITES):
        write("a line\n")
    return (time.perf_counter() - start) / WRITES * 1e9


def main() -> None:
    sink = Sink()
    router = streams._RoutedStream(sink, 0)
    capture = streams.TaskOutputCapture()
    for label, in_task, direct in (("in a task", True, sink.append), ("another thread", False, sink.write)):
        ours, base = [], []
        capture.streams = sink if in_task else None  # type: ignore[assignment]
        for _ in range(REPEATS):
            ours.append(per_write_ns(router.write))
            base.append(per_write_ns(direct))
        capture.streams = None
        mine, theirs = statistics.median(ours), statistics.median(base)
        print(f"{label:15} router {mine:6.0f} ns/write   direct {theirs:6.0f} ns/write   ratio {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
