"""flowyard.execution.processes: a stop ends a task's whole process group, what it started included."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from flowyard.execution.processes import ProcessGroups, kill_group


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by its parent) counts as ended
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def _task_with_a_child(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A shell in a session of its own that started a sleeper in the background; (shell, sleeper's pid)."""
    pid_file = tmp_path / "child.pid"
    proc = subprocess.Popen(
        ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the task never started its child"
        time.sleep(0.01)
    return proc, int(pid_file.read_text())


def test_kill_all_ends_every_registered_group_children_included(tmp_path: Path) -> None:
    groups = ProcessGroups()
    started = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        started.append(_task_with_a_child(tmp_path / name))
        groups.add(started[-1][0])
    groups.kill_all()
    for proc, child in started:
        assert proc.wait(timeout=10) != 0
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, f"the task's child {child} outlived its group"
            time.sleep(0.01)


def test_a_discarded_group_is_not_killed_and_an_ended_one_is_no_error(tmp_path: Path) -> None:
    groups = ProcessGroups()
    proc, child = _task_with_a_child(tmp_path)
    groups.add(proc)
    groups.discard(proc)
    groups.kill_all()
    time.sleep(0.1)
    assert proc.poll() is None and _alive(child)
    kill_group(proc)
    proc.wait(timeout=10)
    kill_group(proc)  # already gone: no error
