"""A run started from Python writes only where it was told and leaves the caller's process as it was:
its streams (for every thread but the workers' own tasks) and the cache location."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flowyard.logs import read_run_logs
from flowyard.runs import RunDirectory, RunStatus, TaskState

CACHED = """
    name: cached
    steps:
      s:
        cache: true
        python: {function: "chatty:text"}
        outputs: {text: {type: string}}
"""

SAYS = """
    name: says
    steps:
      s:
        python: {function: "chatty:say"}
"""

CHATTY = """
import sys
import threading
import time

released = threading.Event()
started = threading.Event()


def say():
    print("from the task")
    sys.stderr.write("task err\\n")
    started.set()
    released.wait(30)


def text():
    return "made"


second_started = threading.Event()
second_released = threading.Event()


def say_second():
    second_started.set()
    second_released.wait(30)


def fail():
    raise ValueError("as planned")
"""


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_a_cached_run_writes_only_under_the_runs_root_it_was_given(
    spec: Callable[..., Path], run: Callable[..., RunStatus], runs: Path, tmp_path: Path
) -> None:
    path = spec(CACHED)
    (path.parent / "chatty.py").write_text(CHATTY)
    before = set(os.listdir(tmp_path))
    first = run(path, {})
    second = run(path, {})
    assert first.state is second.state is TaskState.SUCCEEDED
    assert [t.cached for t in second.tasks] == [True]  # the cache works, from where it now lives
    assert set(os.listdir(tmp_path)) == before | {"runs"}  # nothing beside the runs root (no ./cache/)
    assert any(p.startswith(".cache") for p in _files(runs))


def test_the_cache_location_is_an_option(
    spec: Callable[..., Path], run: Callable[..., RunStatus], runs: Path, tmp_path: Path
) -> None:
    path = spec(CACHED)
    (path.parent / "chatty.py").write_text(CHATTY)
    cache = tmp_path / "elsewhere"
    run(path, {}, options={"cache_dir": str(cache)})
    second = run(path, {}, options={"cache_dir": str(cache)})
    assert [t.cached for t in second.tasks] == [True]
    assert list(cache.glob("*.json")) and not (runs / ".cache").exists()


def _in_thread(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def chatty(spec: Callable[..., Path]) -> Any:
    path = spec(SAYS)
    (path.parent / "chatty.py").write_text(CHATTY)
    sys.path.insert(0, str(path.parent))
    try:
        import chatty

        yield path, chatty
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("chatty", None)


def test_another_threads_output_stays_on_the_real_streams_during_a_run(
    chatty: Any, run: Callable[..., RunStatus], runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, module = chatty
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    real_out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    real_err = io.TextIOWrapper(err_bytes, encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stdout", real_out)
    monkeypatch.setattr(sys, "stderr", real_err)
    result: dict[str, RunStatus] = {}
    runner = _in_thread(lambda: result.setdefault("status", run(path, {})))
    assert module.started.wait(30)
    seen = []
    try:  # a thread of the caller's, while a task is capturing: prints, writes bytes, asks what it writes to
        print("from the caller")
        sys.stdout.buffer.write(b"bytes from the caller\n")
        seen.append(sys.stdout.isatty() == real_out.isatty())
        sys.stderr.write("caller err\n")
    finally:
        module.released.set()
        runner.join(60)
    assert result["status"].state is TaskState.SUCCEEDED
    assert seen == [True]
    assert sys.stdout is real_out and sys.stderr is real_err
    real_out.flush()
    assert out_bytes.getvalue().decode() == "from the caller\nbytes from the caller\n"
    assert err_bytes.getvalue().decode() == "caller err\n"
    run_dir = next(RunDirectory(p.parent) for p in runs.rglob("ir.json"))
    assert list(read_run_logs(run_dir)) == ["s: from the task", "s (stderr): task err"]  # `flowyard logs RUN`


def test_runs_in_two_threads_at_once_leave_the_streams_as_they_found_them(
    spec: Callable[..., Path], run: Callable[..., RunStatus]
) -> None:
    first = spec(SAYS, "first.yaml")
    second = spec(SAYS.replace("says", "says-second").replace("chatty:say", "chatty:say_second"), "second.yaml")
    (first.parent / "chatty.py").write_text(CHATTY)
    sys.path.insert(0, str(first.parent))
    out, err = sys.stdout, sys.stderr
    try:
        import chatty

        statuses: list[RunStatus] = []
        one = _in_thread(lambda: statuses.append(run(first, {})))
        assert chatty.started.wait(30)
        two = _in_thread(lambda: statuses.append(run(second, {})))
        assert chatty.second_started.wait(30)  # both runs are in their tasks now
        chatty.released.set()  # the first started ends first
        one.join(60)
        chatty.second_released.set()
        two.join(60)
    finally:
        chatty.released.set()
        chatty.second_released.set()
        sys.path.remove(str(first.parent))
        sys.modules.pop("chatty", None)
    assert [s.state for s in statuses] == [TaskState.SUCCEEDED] * 2
    assert sys.stdout is out and sys.stderr is err


def test_a_failing_run_restores_the_streams(spec: Callable[..., Path], run: Callable[..., RunStatus]) -> None:
    path = spec("""
        name: fails
        steps:
          s: {python: {function: "chatty:fail"}}
    """)
    (path.parent / "chatty.py").write_text(CHATTY)
    out, err = sys.stdout, sys.stderr
    status = run(path, {})
    assert status.state is TaskState.FAILED
    assert sys.stdout is out and sys.stderr is err


STREAM_PROBE = """
import sys


def probe():
    out = sys.stdout
    facts = [out.writable(), out.readable(), out.closed, out.isatty(), out.encoding]
    try:
        out.fileno()
        facts.append("fileno")
    except OSError:
        facts.append("no fileno")
    print(facts)
"""


def test_a_task_sees_a_text_only_stream_that_writes_to_its_log(
    spec: Callable[..., Path], run: Callable[..., RunStatus], runs: Path
) -> None:
    path = spec("""
        name: probe
        steps:
          s: {python: {function: "probing:probe"}}
    """)
    (path.parent / "probing.py").write_text(STREAM_PROBE)
    assert run(path, {}).state is TaskState.SUCCEEDED
    run_dir = next(RunDirectory(p.parent) for p in runs.rglob("ir.json"))
    assert list(read_run_logs(run_dir)) == [
        f"s: {[True, False, False, False, sys.stdout.encoding or 'utf-8', 'no fileno']}"
    ]
