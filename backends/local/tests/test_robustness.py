"""Red-team checks of the local backend, run the way users run it: a fresh folder, the CLI in a process.

Concurrent resumes of one run, prune during a run, SIGKILL with orphan detection, hostile files a
step leaves as outputs, and memory bounded while logs grow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SPECS = HERE / "specs"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    env.update(extra)
    return env


def _flowyard(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowyard._cli", *args]


def _cli(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_flowyard(*args), cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout)


def _start(*args: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _flowyard(*args),
        cwd=cwd,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _write_spec(folder: Path, text: str, name: str = "p.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "steplib.py").write_text((SPECS / "steplib.py").read_text())
    path = folder / name
    path.write_text("apiVersion: flowyard/v1\n" + textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _wait(cond, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _run_dirs(cwd: Path) -> list[Path]:
    root = cwd / ".flowyard" / "runs"
    return sorted(root.iterdir()) if root.is_dir() else []


# --- 1. a run folder is owned by one process at a time -----------------------------------------------

GATED = """
name: gated
steps:
  produce:
    for_each: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    container:
      command: [sh, -c, 'printf "%s" "$1$1" > out.txt', sh, "${{ item }}"]
    outputs: {o: out.txt}
  gate:
    python: {function: "steplib:fail_first_time"}
    inputs: {flag: "FLAG"}
    after: [produce]
  slow:
    python: {function: "steplib:record"}
    inputs: {log: "LOG", pause: 1.0}
    after: [gate]
  consume:
    for_each: ${{ steps.produce.outputs.o }}
    container:
      command: [sh, -c, 'printf "%s!" "$(cat in.txt)" > final.txt']
    inputs: {i: {value: "${{ item }}", path: in.txt}}
    outputs: {o: final.txt}
    after: [slow]
outputs: {final: "${{ steps.consume.outputs.o }}"}
"""


def _failed_gated_run(tmp_path: Path) -> tuple[Path, Path]:
    """A run that failed at its gate (resumable), in a fresh folder: (working folder, run folder)."""
    work = tmp_path / "work"
    path = _write_spec(
        tmp_path / "specs", GATED.replace("FLAG", str(tmp_path / "flag")).replace("LOG", str(tmp_path / "log"))
    )
    work.mkdir()
    first = _cli("run", str(path), cwd=work)
    assert first.returncode == 1, first.stderr
    (run_dir,) = _run_dirs(work)
    return work, run_dir


@pytest.mark.parametrize("trial", range(5))
def test_a_second_resume_of_a_run_in_flight_is_refused(tmp_path: Path, trial: int) -> None:
    work, run_dir = _failed_gated_run(tmp_path)
    first = _start("run", "--resume", run_dir.name, "--json", cwd=work)
    second = _start("run", "--resume", run_dir.name, "--json", cwd=work)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, 2], (codes, [e for _, e in outs])
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    refusal = outs[loser][1].strip()
    assert len(refusal.splitlines()) == 1 and "in use" in refusal and run_dir.name in refusal, refusal
    status = json.loads(outs[winner][0])
    assert [Path(p).read_text() for p in status["outputs"]["final"]] == [f"{i}{i}!" for i in range(12)]
    assert len((tmp_path / "log").read_text().splitlines()) == 1, "the slow step ran twice"


def test_prune_refuses_to_delete_a_run_in_flight(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = _write_spec(
        tmp_path / "specs",
        f"""
        name: busy
        steps:
          wait: {{python: {{function: "steplib:wait_for"}}, inputs: {{path: "{gate}", value: 1}}}}
          out:
            container: {{command: [sh, -c, "echo done > o.txt"]}}
            outputs: {{o: o.txt}}
            after: [wait]
        outputs: {{o: "${{{{ steps.out.outputs.o }}}}"}}
        """,
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = _start("run", str(path), "--json", cwd=work)
    try:
        _wait(lambda: any((d / "journal.jsonl").exists() for d in _run_dirs(work)))
        (run_dir,) = _run_dirs(work)
        pruned = _cli("runs", "--prune", "--keep", "0", cwd=work)
        gate.write_text("")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert pruned.returncode == 2, pruned.stdout + pruned.stderr
    assert len(pruned.stderr.strip().splitlines()) == 1 and run_dir.name in pruned.stderr, pruned.stderr
    assert proc.returncode == 0, err
    assert Path(json.loads(out)["outputs"]["o"]).read_text() == "done\n"


# --- 2. tasks and everything they start die with their runner ----------------------------------------

ORPHANS = """
name: orphans
steps:
  spawn:
    container:
      command: [sh, -c, 'if [ -e "$1" ]; then echo ok > out.txt; exit 0; fi; sleep 600 & echo $! > "$2"; echo $$ >> "$2"; wait', sh, "GATE", "PIDS"]
    outputs: {o: out.txt}
outputs: {o: "${{ steps.spawn.outputs.o }}"}
"""


def _start_orphans(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, list[int]]:
    pids = tmp_path / "pids"
    path = _write_spec(tmp_path / "specs", ORPHANS.replace("GATE", str(tmp_path / "gate")).replace("PIDS", str(pids)))
    work = tmp_path / "work"
    work.mkdir()
    proc = _start("run", str(path), "--json", cwd=work)
    _wait(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    return proc, work, [int(p) for p in pids.read_text().split()]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see processes")
def test_a_sigkill_of_flowyard_takes_its_tasks_and_their_children_along(tmp_path: Path) -> None:
    proc, _work, task_pids = _start_orphans(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # flowyard alone: its tasks have sessions of their own
        proc.communicate()
        deadline = time.time() + 10
        while any(_alive(p) for p in task_pids) and time.time() < deadline:
            time.sleep(0.05)
        assert not [p for p in task_pids if _alive(p)], "a task or its child outlived flowyard"
    finally:
        for p in task_pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see processes")
def test_a_resume_ends_what_the_killed_attempt_left_running(tmp_path: Path) -> None:
    proc, work, task_pids = _start_orphans(tmp_path)
    try:
        # Everything of flowyard's own dies at once (its helper processes too): only the tasks stay.
        doomed = [*(c for c in _children(proc.pid) if c not in task_pids), proc.pid]  # its watchdog first
        for p in doomed:
            os.kill(p, signal.SIGKILL)
        proc.communicate()
        time.sleep(0.3)
        assert all(_alive(p) for p in task_pids), "the set-up needs the tasks to outlive flowyard"
        (run_dir,) = _run_dirs(work)
        (tmp_path / "gate").write_text("")
        resumed = _cli("run", "--resume", run_dir.name, "--json", cwd=work)
        assert resumed.returncode == 0, resumed.stderr
        assert not [p for p in task_pids if _alive(p)], "the killed attempt's tasks still run after the resume"
        assert Path(json.loads(resumed.stdout)["outputs"]["o"]).read_text() == "ok\n"
    finally:
        for p in task_pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


# --- 3. the files a step leaves -----------------------------------------------------------------------

HOSTILE = """
name: hostile
steps:
  make:
    timeout: 5s
    container: {command: [sh, -c, 'SCRIPT']}
    outputs: {o: out.txt}
outputs: {o: "${{ steps.make.outputs.o }}"}
"""


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("mkfifo out.txt", "not a regular file"),
        ("ln -s /dev/zero out.txt", "outside"),
        ("ln -s HOST out.txt", "outside"),
        ("mkfifo f && ln -s f out.txt", "not a regular file"),
    ],
    ids=["fifo", "dev-zero", "host-file", "inside-link-to-fifo"],
)
def test_an_output_that_is_not_a_regular_file_of_the_task_is_refused_by_name(
    tmp_path: Path, script: str, why: str
) -> None:
    host = tmp_path / "host-secret.txt"
    host.write_text("host data\n")
    path = _write_spec(tmp_path / "specs", HOSTILE.replace("SCRIPT", script.replace("HOST", str(host))))
    work = tmp_path / "work"
    work.mkdir()
    try:
        result = _cli("run", str(path), "--json", cwd=work, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on the file its step left")
    assert result.returncode == 1, result.stderr
    (task,) = json.loads(result.stdout)["tasks"]
    assert task["status"] == "Failed"
    assert "'o'" in task["message"] and why in task["message"], task["message"]
    assert "host data" not in result.stdout + result.stderr


def test_an_output_linked_to_a_file_inside_the_task_is_taken(tmp_path: Path) -> None:
    path = _write_spec(tmp_path / "specs", HOSTILE.replace("SCRIPT", "echo hi > real.txt && ln -s real.txt out.txt"))
    work = tmp_path / "work"
    work.mkdir()
    result = _cli("run", str(path), "--json", cwd=work, timeout=60)
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)["outputs"]["o"]).read_text() == "hi\n"


def test_a_value_output_that_is_a_fifo_is_refused_by_name(tmp_path: Path) -> None:
    path = _write_spec(
        tmp_path / "specs",
        """
        name: hostile-value
        steps:
          make:
            container: {command: [sh, -c, "mkfifo n.json"]}
            outputs: {n: {type: integer, path: n.json}}
        """,
    )
    work = tmp_path / "work"
    work.mkdir()
    try:  # an absolute home: value outputs of commands under a relative one are another bug of issue 17
        result = _cli("run", str(path), "--json", cwd=work, timeout=60, FLOWYARD_HOME=str(tmp_path / "home"))
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on the file its step left")
    assert result.returncode == 1, result.stderr
    (task,) = json.loads(result.stdout)["tasks"]
    assert "'n'" in task["message"] and "not a regular file" in task["message"], task["message"]


# --- 4. memory stays bounded while logs grow ------------------------------------------------------------

LOG_MB = 150
RSS_BOUND_MB = 80  # flowyard itself, reading nothing big: about 40 MB


def _max_rss_mb(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The largest resident set of the flowyard process ``args`` starts, measured by a parent of its own."""
    probe = textwrap.dedent(
        """
        import json, resource, subprocess, sys
        r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"rss_kb": rss, "code": r.returncode, "out": r.stdout[-2000:].decode(errors="replace"),
                          "err": r.stderr[-2000:].decode(errors="replace")}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    data = json.loads(done.stdout)
    print(f"max RSS {data['rss_kb'] / 1024:.0f} MB: {' '.join(args[1:])}")  # the figure, with pytest -s
    return data["rss_kb"] / 1024, subprocess.CompletedProcess(args, data["code"], data["out"], data["err"])


def _noisy_spec(tmp_path: Path, body: str) -> Path:
    (tmp_path / "specs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "specs" / "noisy.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            def shout() -> None:
                line = "x" * 1023 + "\\n"
                for _ in range({LOG_MB} * 1024):
                    sys.stdout.write(line)
            """
        )
    )
    return _write_spec(tmp_path / "specs", body)


# Small processes write the log (yes, head): what is measured is flowyard, not the writer.
LOUD_COMMAND = (
    f"yes 'a long line of output from a step' | head -c {LOG_MB}000000 >&2; echo >&2; echo last words >&2; exit 1"
)


def test_a_failing_step_with_a_big_log_is_reported_in_bounded_memory(tmp_path: Path) -> None:
    path = _noisy_spec(tmp_path, f'name: loud\nsteps:\n  s: {{container: {{command: [sh, -c, "{LOUD_COMMAND}"]}}}}\n')
    rss, result = _max_rss_mb(_flowyard("run", str(path)), tmp_path, _env())
    assert result.returncode == 1 and "last words" in result.stderr, result.stderr
    assert rss < RSS_BOUND_MB, f"{rss:.0f} MB resident to report a {LOG_MB} MB log"


def test_redacting_a_big_log_takes_bounded_memory(tmp_path: Path) -> None:
    command = f'yes \\"token $TOKEN_VALUE in a line\\" | head -c {LOG_MB}000000 >&2'
    path = _noisy_spec(
        tmp_path,
        f"""
        name: loud-secret
        steps:
          s:
            container: {{command: [sh, -c, "{command}"]}}
            secrets: [{{secret: creds, key: token, env: TOKEN_VALUE}}]
        """,
    )
    token = "tok-9f8e7d6c5b4a"
    rss, result = _max_rss_mb(_flowyard("run", str(path)), tmp_path, _env(TOKEN_VALUE=token))
    assert result.returncode == 0, result.stderr
    (run_dir,) = _run_dirs(tmp_path)
    log = run_dir / "tasks" / "s" / "stderr.log"
    with open(log, "rb") as f:
        head = f.read(1 << 20)
        f.seek(-(1 << 20), os.SEEK_END)
        tail = f.read()
    assert b"token *** in a line" in head and token.encode() not in head + tail
    assert rss < RSS_BOUND_MB, f"{rss:.0f} MB resident to redact a {LOG_MB} MB log"


def test_an_in_process_step_printing_a_lot_runs_in_bounded_memory(tmp_path: Path) -> None:
    path = _noisy_spec(tmp_path, 'name: loud-function\nsteps:\n  s: {python: {function: "noisy:shout"}}\n')
    rss, result = _max_rss_mb(_flowyard("run", str(path)), tmp_path, _env())
    assert result.returncode == 0, result.stderr
    (run_dir,) = _run_dirs(tmp_path)
    assert (run_dir / "tasks" / "s" / "stdout.log").stat().st_size == LOG_MB * 1024 * 1024
    assert rss < RSS_BOUND_MB, f"{rss:.0f} MB resident for a step that printed {LOG_MB} MB"


def test_flowyard_logs_streams_a_big_log(tmp_path: Path) -> None:
    path = _noisy_spec(tmp_path, f'name: loud\nsteps:\n  s: {{container: {{command: [sh, -c, "{LOUD_COMMAND}"]}}}}\n')
    assert _cli("run", str(path), cwd=tmp_path).returncode == 1
    (run_dir,) = _run_dirs(tmp_path)
    probe_args = _flowyard("logs", run_dir.name, "s")
    rss, result = _max_rss_mb(probe_args, tmp_path, _env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("s (stderr): last words")
    assert rss < RSS_BOUND_MB, f"{rss:.0f} MB resident to print a {LOG_MB} MB log"


# --- 5. how much a SIGKILL makes a resume run again ------------------------------------------------------

# docs/run-model.md: with 4 workers, a SIGKILL loses the journal lines of at most 256 + (4 + 1) x 64 tasks
RERUN_BOUND_4_WORKERS = 576


def test_a_sigkill_leaves_at_most_the_documented_number_of_finished_tasks_unjournaled(tmp_path: Path) -> None:
    import random

    from flowyard.runs import read_journal

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "ticks.py").write_text(
        textwrap.dedent(
            """
            import os

            def tick(x: int, ran: str) -> int:
                fd = os.open(ran, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(fd, f"{x}\\n".encode())
                os.close(fd)
                return x
            """
        )
    )
    worst = 0
    rng = random.Random(17)
    for trial in range(5):
        work = tmp_path / f"work{trial}"
        work.mkdir()
        ran = work / "ran.txt"
        path = _write_spec(
            tmp_path / "specs",
            f"""
            name: ticks
            parameters: {{xs: {{type: list, default: {list(range(20000))}}}}}
            steps:
              t:
                for_each: ${{{{ params.xs }}}}
                python: {{function: "ticks:tick"}}
                inputs: {{x: "${{{{ item }}}}", ran: "{ran}"}}
                outputs: {{y: {{type: integer}}}}
            """,
            name=f"p{trial}.yaml",
        )
        proc = _start("run", str(path), "-O", "workers=4", cwd=work)
        try:
            _wait(lambda: ran.exists() and ran.stat().st_size > 0)  # noqa: B023 - used within the iteration
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        (run_dir,) = _run_dirs(work)
        journaled = {
            e["item"]
            for e in read_journal(run_dir / "journal.jsonl")
            if e.get("t") == "task" and e["state"] == "Succeeded"
        }
        finished = {int(x) for x in ran.read_text().split()}
        assert journaled <= finished
        worst = max(worst, len(finished - journaled))
    print(f"at most {worst} finished tasks were not journaled at a SIGKILL (bound {RERUN_BOUND_4_WORKERS})")
    assert worst <= RERUN_BOUND_4_WORKERS


def test_a_log_a_step_swapped_for_a_fifo_is_never_read(tmp_path: Path) -> None:
    path = _write_spec(
        tmp_path / "specs",
        """
        name: fifo-log
        steps:
          s:
            container: {command: [sh, -c, 'echo "$TOKEN_VALUE"; rm ../stdout.log && mkfifo ../stdout.log']}
            secrets: [{secret: creds, key: token, env: TOKEN_VALUE}]
        """,
    )
    work = tmp_path / "work"
    work.mkdir()
    try:
        ran = _cli("run", str(path), cwd=work, timeout=60, TOKEN_VALUE="tok-9f8e7d6c5b4a")
        assert ran.returncode == 0, ran.stderr
        (run_dir,) = _run_dirs(work)
        logs = _cli("logs", run_dir.name, cwd=work, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("reading a log that is a FIFO hung")
    assert logs.returncode == 0, logs.stderr
    assert "tok-9f8e7d6c5b4a" not in ran.stdout + ran.stderr + logs.stdout + logs.stderr
