"""A task's process: its argv run (never through a shell) in a process group of its own, so that a
timeout or Ctrl-C kills everything it started, its output in its log files, secrets redacted."""

from __future__ import annotations

import subprocess
from typing import IO, TYPE_CHECKING

from flowyard.execution.logfiles import redact_file, tail
from flowyard.execution.processes import kill_group

from flowyard_local.taskdata import TaskFailure

if TYPE_CHECKING:
    from flowyard_local.tasks import Task


def run_process(task: Task, argv: list[str], attempt: int) -> None:
    """Run one attempt's process to its end; a TaskFailure for a non-zero exit, a timeout or a stop."""
    ctx = task.ctx
    env = task.env()
    out, err = _log_files(task, attempt)
    watchdog = ctx.watchdog
    if watchdog is not None:
        watchdog.ensure()  # before the first process: nothing may start unwatched
    try:
        proc = _start(task, argv, env, out, err)
        ctx.processes.add(proc)
        if watchdog is not None:
            watchdog.started(proc.pid)
        try:
            code = proc.wait(timeout=task.step.timeout_seconds)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
            raise TaskFailure(f"timed out after {task.step.timeout_seconds:g}s (process group killed)") from None
        finally:
            kill_group(proc)  # whatever it left running in its group goes too
            ctx.processes.discard(proc)
            if watchdog is not None:
                watchdog.ended(proc.pid)
    finally:
        out.close()
        err.close()
        if task.secret_values:
            for name in ("stdout.log", "stderr.log"):
                redact_file(f"{task.folder}/{name}", task.secret_values)
    if ctx.stop.is_set() and code != 0:
        raise TaskFailure("stopped", code)
    if code != 0:
        raise TaskFailure(f"exit code {code}" + _stderr_tail(task), code)


def _start(task: Task, argv: list[str], env: dict[str, str], out: IO[bytes], err: IO[bytes]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            cwd=task.work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    except FileNotFoundError:
        bin_dir = task.ctx.plan.bin_dir
        where = f"{bin_dir} or PATH" if bin_dir else "PATH"
        raise TaskFailure(f"command not found: {argv[0]!r} (looked in {where})", 127) from None
    except PermissionError:
        raise TaskFailure(f"command not executable: {argv[0]!r}", 126) from None


def _log_files(task: Task, attempt: int) -> tuple[IO[bytes], IO[bytes]]:
    task.ensure_dir()
    mode = "wb" if attempt == 1 else "ab"
    out = open(task.dir / "stdout.log", mode)  # noqa: SIM115 - closed by the caller
    err = open(task.dir / "stderr.log", mode)  # noqa: SIM115
    if attempt > 1:
        for f in (out, err):
            f.write(f"--- attempt {attempt} ---\n".encode())
            f.flush()
    return out, err


def _stderr_tail(task: Task) -> str:
    try:
        data = tail(f"{task.folder}/stderr.log").decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    last = data.splitlines()[-1] if data else ""
    return f": {task.clean(last)[:200]}" if last else ""
