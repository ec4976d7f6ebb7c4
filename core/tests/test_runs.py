from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowyard.errors import RunNotFoundError
from flowyard.runs import (
    RunDirectory,
    RunStatus,
    TaskState,
    TaskStatus,
    aggregate_state,
    find_run,
    new_run_id,
    redact,
    render_status_tree,
    write_atomic,
)


def _run(tasks, state=TaskState.SUCCEEDED):
    return RunStatus(
        run_id="p-1",
        pipeline="p",
        backend="local",
        state=state,
        started_at=0.0,
        finished_at=2.5,
        tasks=tuple(tasks),
    )


def test_tree_shows_steps_and_items_like_argo_get() -> None:
    tasks = [TaskStatus(step="a", state=TaskState.SUCCEEDED, started_at=0, finished_at=1)]
    tasks += [TaskStatus(step="b", item=i, state=TaskState.SUCCEEDED, started_at=1, finished_at=2) for i in range(2)]
    text = render_status_tree(_run(tasks))
    assert "Status:      Succeeded" in text
    lines = text.splitlines()
    assert any(line.startswith("✔ a ") and "Succeeded" in line for line in lines)
    assert any(line.startswith("✔ b ") and "2 items: 2 succeeded" in line for line in lines)
    assert any(line.startswith("├─✔ b[0]") for line in lines)
    assert any(line.startswith("└─✔ b[1]") for line in lines)


def test_wide_fanouts_show_failures_first_and_collapse() -> None:
    tasks = [TaskStatus(step="b", item=i, state=TaskState.SUCCEEDED) for i in range(1000)]
    tasks[700] = TaskStatus(step="b", item=700, state=TaskState.FAILED, message="exit code 3")
    text = render_status_tree(_run(tasks, TaskState.FAILED))
    assert "b[700]" in text and "exit code 3" in text
    assert "990 more" in text
    assert len(text.splitlines()) < 30


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([TaskState.SUCCEEDED, TaskState.FAILED], TaskState.FAILED),
        ([TaskState.SUCCEEDED, TaskState.PENDING], TaskState.RUNNING),
        ([TaskState.SKIPPED, TaskState.SKIPPED], TaskState.SKIPPED),
        ([TaskState.SUCCEEDED, TaskState.OMITTED], TaskState.OMITTED),  # cut short by a stop: not Succeeded
        ([TaskState.SUCCEEDED, TaskState.SKIPPED], TaskState.SUCCEEDED),
        ([TaskState.OMITTED], TaskState.OMITTED),
        ([], TaskState.PENDING),
    ],
)
def test_aggregate_state(states, expected) -> None:
    assert aggregate_state(states) == expected


def test_summary_json_is_machine_readable() -> None:
    data = _run([TaskStatus(step="a", state=TaskState.FAILED, exit_code=2)], TaskState.FAILED).summary_json()
    assert data["status"] == "Failed" and data["tasks"][0]["exit_code"] == 2
    json.dumps(data)


def test_run_ids_are_dns_and_unique() -> None:
    ids = {new_run_id("my-pipeline") for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("my-pipeline-") and i == i.lower() for i in ids)


def test_write_atomic_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "d" / "f.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_find_run_by_prefix(tmp_path: Path) -> None:
    for rid in ("pipe-20260101-000000-aaaaaa", "pipe-20260102-000000-bbbbbb"):
        (tmp_path / rid).mkdir()
    assert find_run("pipe-20260102", tmp_path).run_id.endswith("bbbbbb")
    with pytest.raises(RunNotFoundError, match="matches 2 runs"):
        find_run("pipe-", tmp_path)
    with pytest.raises(RunNotFoundError, match="no run 'zzz'"):
        find_run("zzz", tmp_path)


def test_status_round_trips_through_the_run_directory(tmp_path: Path) -> None:
    d = RunDirectory(tmp_path / "r")
    st = _run([TaskStatus(step="a", item=3, state=TaskState.SUCCEEDED)])
    d.write_status(st)
    assert d.read_status() == st
    assert d.task_dir("a", 3) == tmp_path / "r" / "tasks" / "a" / "000003"


def test_redact_hides_secret_values() -> None:
    assert redact("key=abc123 and abc123", ["abc123", ""]) == "key=*** and ***"


def test_run_status_validates_task_mappings_and_keeps_task_instances() -> None:
    from dataclasses import dataclass

    import pydantic

    @dataclass(slots=True)
    class BackendTask(TaskStatus):
        engine_id: str = ""

    mine = BackendTask(step="a", state=TaskState.SUCCEEDED, engine_id="pod-1")
    st = _run([mine, {"step": "b", "item": "2", "state": "Failed"}])
    assert st.tasks[0] is mine
    assert st.tasks[1] == TaskStatus(step="b", item=2, state=TaskState.FAILED)
    assert "engine_id" not in st.model_dump_json()
    with pytest.raises(pydantic.ValidationError, match="state"):
        _run([{"step": "b", "state": "Exploded"}])


def test_task_status_takes_its_state_as_text_too() -> None:
    assert TaskStatus(step="a", state="Failed").state is TaskState.FAILED  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Exploded"):
        TaskStatus(step="a", state="Exploded")  # type: ignore[arg-type]
