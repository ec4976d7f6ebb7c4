"""flowyard.execution.progress over neutral rows: what a runner reports is what the user reads."""

from __future__ import annotations

import io
import re
import threading
import time

from flowyard.execution.progress import LiveProgress, PlainProgress, StepRow
from flowyard.runs import TaskState


def _lines(text: str) -> list[str]:
    return [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in text.splitlines()]


def test_plain_progress_prints_starts_ends_and_failed_items() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.step_started(StepRow("fan", TaskState.RUNNING, total=3))
    progress.task_failed("fan[1]", TaskState.ERROR, "bad input")
    progress.step_ended(StepRow("fan", TaskState.FAILED, total=3, done=2, failed=1))
    progress.step_started(StepRow("one", TaskState.RUNNING))
    progress.step_ended(StepRow("one", TaskState.OMITTED, message="upstream fan did not succeed"))
    progress.close()
    assert _lines(out.getvalue()) == [
        "● fan started (3 tasks)",
        "⚠ fan[1] error: bad input",
        "✖ fan failed",
        "● one started (1 task)",
        "○ one omitted: upstream fan did not succeed",
    ]


def test_live_progress_draws_the_rows_it_is_given_when_it_draws() -> None:
    out = io.StringIO()
    rows = [StepRow("load", TaskState.RUNNING, total=4, done=1, running=2)]
    live = LiveProgress(lambda: rows, stream=out)
    rows.append(StepRow("train", TaskState.PENDING, total=None))  # read at the redraw, not at the start
    rows[0] = StepRow("load", TaskState.FAILED, total=4, done=3, failed=1, message="one item failed")
    live.close()
    last = out.getvalue()
    assert re.search(r"load\s+3/4 done\s+0 running\s+1 failed\s+one item failed", last), last
    assert re.search(r"train\s+0/\? done", last), last


class _SlowStream(io.StringIO):
    """A stream that lets other threads in between any two writes, as a pipe to a busy terminal does."""

    def write(self, text: str) -> int:
        time.sleep(0.0005)
        return super().write(text)


def test_plain_lines_from_many_threads_stay_whole() -> None:
    """A runner may report from its workers (the Argo executor reports each pod's start from the pod's thread)."""
    stream = _SlowStream()
    progress = PlainProgress(stream)
    rows = [StepRow(name=f"step{i}", state=TaskState.RUNNING) for i in range(8)]
    threads = [threading.Thread(target=lambda r=r: [progress.step_started(r) for _ in range(20)]) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == 8 * 20 + 1
    assert all(re.fullmatch(r"\[\d\d:\d\d:\d\d\] . step\d started.*", line) for line in lines[:-1])
