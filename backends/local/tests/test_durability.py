"""Interruptions: SIGKILL mid-run then --resume, Ctrl-C and SIGTERM, caching."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flowyard.runs import read_journal
from flowyard.testing.cli import ctrl_c_reaches_it

from .conftest import cli

CHAIN = """
name: durable
parameters: {n: {type: integer, default: 0}}
steps:
  produce:
    for_each: [0, 1, 2, 3, 4, 5, 6, 7]
    parallelism: 2
    container:
      command: [python3, -c, "import sys, time; time.sleep(0.15); open('out.txt', 'w').write(sys.argv[1] * 3)", "${{ item }}"]
    outputs: {o: out.txt}
  gate:
    python: {function: "steplib:wait_for"}
    inputs: {path: "GATE", value: 1}
    after: [produce]
  consume:
    for_each: ${{ steps.produce.outputs.o }}
    container:
      command: [python3, -c, "import sys; open('final.txt', 'w').write(open('in.txt').read() + '!')"]
    inputs: {i: {value: "${{ item }}", path: in.txt}}
    outputs: {o: final.txt}
    after: [gate]
outputs: {final: "${{ steps.consume.outputs.o }}"}
"""


def _start(spec_path: Path, cwd: Path, capture: bool = False) -> subprocess.Popen[str]:
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "flowyard._cli", "run", str(spec_path), "--json"],
        cwd=cwd,
        stdout=pipe,
        stderr=pipe,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_reaches_it,
    )


def _journal_tasks(cwd: Path) -> list[dict]:
    journals = list((cwd / ".flowyard" / "runs").glob("*/journal.jsonl"))
    if not journals:
        return []
    return [e for e in read_journal(journals[0]) if e.get("t") == "task"]


def _wait(cond, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def _finals(status: dict) -> list[str]:
    return [Path(p).read_text() for p in status["outputs"]["final"]]


def test_resume_after_sigkill_matches_an_uninterrupted_run(spec, tmp_path: Path) -> None:
    path = spec(CHAIN.replace("GATE", str(tmp_path / "gate")))
    (tmp_path / "gate").write_text("")
    (tmp_path / "ref").mkdir()
    reference = json.loads(cli("run", str(path), "--json", cwd=tmp_path / "ref").stdout)
    (tmp_path / "gate").unlink()

    work = tmp_path / "killed"
    work.mkdir()
    proc = _start(path, work)
    try:
        _wait(
            lambda: (
                (work / ".flowyard" / "runs").exists()
                and sum(1 for e in _journal_tasks(work) if e["step"] == "produce") >= 3
            )
        )
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait()
    done_before = {(e["step"], e["item"]) for e in _journal_tasks(work) if e["state"] == "Succeeded"}
    assert ("consume", 0) not in done_before

    (tmp_path / "gate").write_text("")
    (run_dir,) = (work / ".flowyard" / "runs").iterdir()
    resumed = cli("run", "--resume", run_dir.name, "--json", cwd=work)
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads(resumed.stdout)
    assert status["run_id"] == run_dir.name
    assert _finals(status) == _finals(reference) == [str(i) * 3 + "!" for i in range(8)]
    rerun = {(e["step"], e["item"]) for e in _journal_tasks(work)[len(done_before) :]}
    assert not (done_before & {k for k in rerun if k[0] == "produce"}), "a task recorded as done ran again"
    for p in (run_dir / "tasks").rglob("*"):
        assert not p.name.endswith(".tmp"), f"half-written file left: {p}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_children_and_leaves_a_resumable_run(spec, tmp_path: Path, sig: signal.Signals) -> None:
    pidfile = tmp_path / "child.pid"
    path = spec(f"""
        name: interrupted
        steps:
          slow:
            container: {{command: [sh, -c, "sleep 60 & echo $! > {pidfile}; wait"]}}
          after: {{python: {{function: "steplib:echo"}}, inputs: {{value: 1}}, after: [slow]}}
    """)
    proc = _start(path, tmp_path, capture=True)
    try:
        _wait(pidfile.exists)
        time.sleep(0.2)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130
    assert "flowyard run --resume" in err
    assert "Traceback" not in err
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{child}").exists()
        or Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    )
    (run_dir,) = (tmp_path / ".flowyard" / "runs").iterdir()
    status = json.loads((run_dir / "run.json").read_text())
    assert status["state"] == "Failed"
    assert "interrupted" in status["message"]


def test_a_failed_task_publishes_no_artifact(spec, run) -> None:
    path = spec("""
        name: partial
        failure_policy: continue
        steps:
          s:
            for_each: [0, 1]
            container: {command: [python3, -c, "import sys; open('o', 'w').write('x'); sys.exit(int(sys.argv[1]))", "${{ item }}"]}
            outputs: {o: o}
    """)
    status = run(path)
    run_dir = Path(status.location or "")
    events = {e["item"]: e for e in read_journal(run_dir / "journal.jsonl") if e.get("t") == "task"}
    (key, digest) = events[0]["files"]["o"]
    assert (run_dir / key).read_text() == "x"
    assert digest == hashlib.sha256(b"x").hexdigest()
    assert events[1]["state"] == "Failed" and "files" not in events[1]  # failed: nothing published
    assert (run_dir / "tasks/s/000001/work/o").exists()  # but its working files stay for debugging


def test_caching_reuses_matching_tasks(spec, run, tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    path = spec(f"""
        name: cached
        parameters: {{v: {{default: a}}}}
        steps:
          s:
            cache: true
            python: {{function: "steplib:count_calls"}}
            inputs: {{counter: "{counter}", value: "${{{{ params.v }}}}"}}
            outputs: {{v: {{type: string}}}}
          f:
            cache: true
            container: {{command: [python3, -c, "import sys; open('o', 'w').write(sys.argv[1])", "${{{{ params.v }}}}"]}}
            outputs: {{o: o}}
        outputs: {{v: "${{{{ steps.s.outputs.v }}}}", o: "${{{{ steps.f.outputs.o }}}}"}}
    """)
    first = run(path)
    second = run(path)
    assert counter.read_text() == "1"
    assert all(t.cached for t in second.tasks)
    assert second.outputs["v"] == "a"
    assert Path(second.outputs["o"]).read_text() == "a"
    assert second.outputs["o"] != first.outputs["o"]  # copied into the new run
    run(path, {"v": "b"})
    assert counter.read_text() == "2"  # other inputs, other key
    run(path, use_cache=False)
    assert counter.read_text() == "3"


def test_logs_follow_streams_until_the_run_ends(spec, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = spec(f"""
        name: follow
        steps:
          first: {{container: {{command: [python3, -c, "print('hello from first', flush=True)"]}}}}
          wait: {{python: {{function: "steplib:wait_for"}}, inputs: {{path: "{gate}"}}, after: [first]}}
          last: {{container: {{command: [python3, -c, "print('hello from last')"]}}, after: [wait]}}
    """)
    proc = _start(path, tmp_path)
    try:
        _wait(lambda: bool(list((tmp_path / ".flowyard" / "runs").glob("*/run.json"))))
        run_id = next((tmp_path / ".flowyard" / "runs").iterdir()).name
        follower = subprocess.Popen(
            [sys.executable, "-m", "flowyard._cli", "logs", run_id, "--follow"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        gate.write_text("")
        out, err = follower.communicate(timeout=30)
    finally:
        proc.wait(timeout=30)
    assert follower.returncode == 0, err
    assert "first: hello from first" in out
    assert "last: hello from last" in out


def test_the_journal_commits_queued_lines_on_its_own_within_an_interval(tmp_path: Path) -> None:
    """The scheduler only queues lines; the journal's thread makes them durable, idle or not."""
    from flowyard.execution.journal import Journal

    journal = Journal(tmp_path / "journal.jsonl", interval=0.05)
    try:
        journal.append({"t": "run", "n": 1})
        deadline = time.monotonic() + 5
        while not (tmp_path / "journal.jsonl").read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert read_journal(tmp_path / "journal.jsonl") == [{"t": "run", "n": 1}]
        journal.append({"t": "run", "n": 2})
    finally:
        journal.close()
    assert [e["n"] for e in read_journal(tmp_path / "journal.jsonl")] == [1, 2]
    journal.close()  # twice: nothing more to do


def test_a_commit_failing_on_the_journals_thread_fails_the_runs_next_append(tmp_path: Path, monkeypatch) -> None:
    import errno

    import flowyard.execution.journal as journal_module
    from flowyard.execution.journal import Journal

    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module.os, "sync", full_disk)
    journal = Journal(tmp_path / "journal.jsonl", interval=0.02)
    journal.append({"t": "task", "step": "s", "files": {"o": ["k", "d"]}})
    deadline = time.monotonic() + 5
    while journal._error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(OSError, match="No space left"):
        journal.append({"t": "task", "step": "s"})
    with pytest.raises(OSError, match="No space left"):  # the line is still queued, and still cannot go
        journal.close()
    monkeypatch.undo()
    journal.close()
    assert [e["step"] for e in read_journal(tmp_path / "journal.jsonl")] == ["s"]


def test_a_grouped_journal_line_reads_back_as_its_task_events(tmp_path: Path) -> None:
    """A batch is journaled as one line of columns; readers see the same events as one line per task."""
    from flowyard.execution.journal import Journal
    from flowyard.runs import TaskState
    from flowyard_local.tasks import FileRef, TaskResult

    results = [
        TaskResult("s", 0, TaskState.SUCCEEDED, 1.5, 2.25, 1, 0, values={"v": [1, "a"]}),
        TaskResult("s", 1, TaskState.FAILED, 2.0, 3.0, 3, 2, message='boom "quoted"\nline'),
        TaskResult("s", 2, TaskState.SUCCEEDED, 3.0, 4.0, 1, 0, files={"o": FileRef("tasks/s/000002/work/o", "ab")}),
        TaskResult("s", 3, TaskState.SUCCEEDED, None, None, 1, 0, cached=True, missing={"x": [4]}),
        TaskResult("s", 4, TaskState.OMITTED, message="upstream s[4] did not succeed"),
        TaskResult("s", 5, TaskState.SUCCEEDED, 1764291234.1234567, 1764291234.9876543, 1, 0),
    ]
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(TaskResult.journal_group(results))
    journal.close()
    assert len((tmp_path / "journal.jsonl").read_text().splitlines()) == 1
    expected = [json.loads(json.dumps(r.journal_event())) for r in results]
    got = read_journal(tmp_path / "journal.jsonl")
    for key in ("started", "finished"):  # times travel as whole microseconds
        assert got[5][key] == pytest.approx(expected[5][key], abs=1e-6)
        got[5][key] = expected[5][key]
    assert got == expected


def test_a_resumed_task_does_not_pass_off_the_output_its_failed_run_wrote(spec, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    path = spec(f"""
        name: restale
        steps:
          s:
            python: {{function: "steplib:write_then_fail_first_time"}}
            inputs: {{flag: "{flag}"}}
            outputs: {{out: o.txt}}
    """)
    first = cli("run", str(path), "--json", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    assert (tmp_path / ".flowyard" / "runs" / run_id / "tasks" / "s" / "o.txt").exists()
    second = cli("run", "--resume", run_id, "--json", cwd=tmp_path)
    assert second.returncode == 1, second.stderr
    assert "did not write its output 'out'" in json.loads(second.stdout)["tasks"][0]["message"]


def test_a_resumed_task_keeps_no_log_of_the_failed_attempt(spec, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    path = spec(f"""
        name: relog
        steps:
          s: {{python: {{function: "steplib:fail_first_time"}}, inputs: {{flag: "{flag}"}}}}
    """)
    first = cli("run", str(path), "--json", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    assert "s (stderr): RuntimeError: fails the first time" in cli("logs", run_id, cwd=tmp_path).stdout
    second = cli("run", "--resume", run_id, "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    logs = cli("logs", run_id, "s", cwd=tmp_path)
    assert logs.returncode == 0 and logs.stdout == ""  # the task ran again and was silent: no stale traceback
