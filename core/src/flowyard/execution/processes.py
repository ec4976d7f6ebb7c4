"""No process a run started outlives it: process groups, a watchdog for when flowyard dies, a sweep.

Tasks run in sessions of their own (so a timeout can kill a task's whole group), which also means
they do not die with flowyard: a SIGKILL of flowyard left them running, writing into folders a
resumed run then used. Every task gets ``FLOWYARD_RUN_ID`` in its environment and passes it on to
what it starts, so the processes of a run can be found in ``/proc`` whatever session or group they
moved to. The watchdog is a small process of its own session that waits for flowyard's end (its
pipe from flowyard closes, however flowyard ends) and then kills the task groups flowyard named to
it and every process marked with the run's id. A resume sweeps the same way before it starts, for
when the watchdog died too.

A runner starts each task with ``start_new_session=True`` and keeps it in :class:`ProcessGroups`, so
that a timeout or a stop ends the task's whole group (what it started too), not only its first process.

This file is also the watchdog's program (``python -I -S processes.py RUN_ID``): standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

MARK = "FLOWYARD_RUN_ID"


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group a task leads (started with ``start_new_session=True``); gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class ProcessGroups:
    """The task processes of a run still running, so that a stop can end every group at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        """A task process just started (in a session of its own): ended by :meth:`kill_all` from now on."""
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        """The task ended and its group was killed: nothing left to end."""
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        """SIGKILL every group still registered (they stay registered until their waiter discards them)."""
        with self._lock:
            for proc in list(self._procs):
                kill_group(proc)


def marked_processes(run_id: str) -> list[int]:
    """Processes whose environment says they belong to the run (empty where there is no /proc)."""
    needle = f"\0{MARK}={run_id}\0".encode()
    me = os.getpid()
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone, or not ours to read
            continue
        if needle in b"\0" + environ:
            found.append(int(name))
    return found


def end_marked_processes(run_id: str, rounds: int = 20) -> int:
    """SIGKILL every process of the run, again until none is left (they may fork meanwhile)."""
    killed = 0
    for _ in range(rounds):
        pids = marked_processes(run_id)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


class Watchdog:
    """flowyard's side of the watchdog: started before the run's first process, told each task group.

    ``ensure`` before starting a process, ``started(pgid)`` once it runs, ``ended(pgid)`` once its group
    is killed, ``close`` at the run's end."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None

    def _start(self) -> int:
        read, write = os.pipe()
        os.set_inheritable(write, False)
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, self.run_id],
            stdin=read,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a kill of flowyard's own process group
            close_fds=True,
        )
        os.close(read)
        self._pipe = write
        return write

    def ensure(self) -> None:
        """Start the watchdog if it is not running yet (before the run starts a process)."""
        with self._lock:
            if self._pipe is None:
                self._start()

    def tell(self, line: str) -> None:
        """One line to the watchdog (``+PGID`` or ``-PGID``); a dead watchdog is not an error."""
        with self._lock:
            pipe = self._pipe if self._pipe is not None else self._start()
            with contextlib.suppress(OSError):
                os.write(pipe, f"{line}\n".encode())

    def started(self, pgid: int) -> None:
        """A task group the watchdog must kill if flowyard dies."""
        self.tell(f"+{pgid}")

    def ended(self, pgid: int) -> None:
        """A task group already ended: the watchdog forgets it."""
        self.tell(f"-{pgid}")

    def close(self) -> None:
        """The run ended: the watchdog sweeps what is left and exits."""
        with self._lock:
            if self._pipe is None:
                return
            os.close(self._pipe)
            self._pipe = None
            assert self._proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=10)


def watch(run_id: str) -> None:
    """The watchdog: track task groups from stdin until it closes, then end them and the run's processes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is flowyard's to handle; the pipe tells us the end
    groups: set[int] = set()
    buffer = b""
    while chunk := os.read(0, 4096):
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            elif line[:1] == b"-":
                groups.discard(int(line[1:]))
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    end_marked_processes(run_id)


if __name__ == "__main__":
    watch(sys.argv[1])
