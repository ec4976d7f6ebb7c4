"""The run's side of the pod launcher (:mod:`podinit`): one process forks every pod, so no pod starts an interpreter.

One launcher per process, started with the first pod and shared by the runs in progress (``running_pods()`` around a
run); it ends when the last run using it ends (every pod of theirs has ended by then), or at the latest when this
process ends: its stdin is this process's pipe, so however this process ends (Ctrl-C, a kill), the launcher sees
its end and kills every pod group still running. Requests and answers are JSON lines; one thread reads the answers
and wakes the pod's caller.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flowyard.execution.processes import kill_group

PROGRAM = Path(__file__).with_name("podinit.py")
# Pods running at once on this machine, as a node's capacity bounds them on a cluster (the rest wait, as Pending pods
# wait for the scheduler). Unbounded, a 1,000-item fan-out started 1,000 processes on 2 cores and starved the
# launcher and the controller model of the CPU to start and finish the rest; bounded at the CPU count, pods that
# mostly wait (Argo's loops-param-result.yaml: 11 pods sleeping 20-30 s) ran four at a time, 75 s where a cluster
# takes 30 s. Four per CPU, at least 16, keeps both.
MACHINE_PODS = max(16, 4 * (os.cpu_count() or 1))


class LauncherError(RuntimeError):
    """The launcher ended before answering (it is a bug if it happens)."""


@dataclass(frozen=True)
class PodEnd:
    """How a pod's first process ended: its exit code as emissary reports it, and whether its deadline killed it."""

    exit_code: int
    timed_out: bool


def exit_code(status: int) -> int:
    """The exit code emissary reports (``runEmissary``'s ``exitCodeFromErr``): the program's own, 137 if signalled."""
    code = os.waitstatus_to_exitcode(status)
    return 137 if code < 0 else code


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.end: PodEnd | None = None


class PodLauncher:
    """A running :mod:`podinit` process: ``run`` forks one pod there and waits for its end."""

    def __init__(self, capacity: int = MACHINE_PODS) -> None:
        self._slots = threading.BoundedSemaphore(capacity)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(PROGRAM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C at the terminal is the run's to handle, not the launcher's
        )
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._waiting: dict[int, _Waiter] = {}
        self.ended = False
        self.pid = self._process.pid
        assert self._process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True)
        self._reader.start()

    def run(self, request: Mapping[str, Any], timeout: float | None) -> PodEnd:
        """Start the pod (root, workdir, binds, readonly, env, argv, stdout, stderr) once the machine has room for it,
        and wait for its end."""
        with self._slots:
            return self._run(request, timeout)

    def _run(self, request: Mapping[str, Any], timeout: float | None) -> PodEnd:
        waiter = _Waiter()
        with self._lock:
            if self.ended:
                raise LauncherError("the pod launcher has ended")
            request_id = next(self._ids)
            self._waiting[request_id] = waiter
            line = json.dumps({**request, "id": request_id, "timeout": timeout}).encode() + b"\n"
            assert self._process.stdin is not None
            try:
                self._process.stdin.write(line)
                self._process.stdin.flush()
            except OSError as e:
                del self._waiting[request_id]
                raise LauncherError(f"the pod launcher has ended: {e}") from None
        waiter.done.wait()
        if waiter.end is None:
            raise LauncherError("the pod launcher ended while a pod was running")
        return waiter.end

    def _read(self, replies: IO[bytes]) -> None:
        with replies:
            for line in replies:
                reply = json.loads(line)
                with self._lock:
                    waiter = self._waiting.pop(reply["id"])
                waiter.end = PodEnd(exit_code(reply["status"]), bool(reply["timed_out"]))
                waiter.done.set()
        with self._lock:
            self.ended = True
            waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.done.set()

    def close(self, wait: float = 10.0) -> None:
        """End the launcher: closing its stdin makes it kill whatever pod is still running, then exit."""
        with contextlib.suppress(OSError, ValueError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(wait)
        except subprocess.TimeoutExpired:
            kill_group(self._process)  # its own session's group; its pods die with it (their parent-death signal)
            self._process.wait()
        self._reader.join()  # its stdout ends with it


_shared: dict[str, Any] = {"launcher": None, "users": 0, "pid": None, "at_exit": False}
_shared_lock = threading.Lock()


def shared_launcher() -> PodLauncher:
    """This process's launcher, started if there is none (or the one there is has ended)."""
    with _shared_lock:
        launcher: PodLauncher | None = _shared["launcher"]
        if launcher is None or launcher.ended or _shared["pid"] != os.getpid():
            launcher = PodLauncher()
            if not _shared["at_exit"]:
                atexit.register(_close_shared)
            _shared.update(launcher=launcher, pid=os.getpid(), at_exit=True)
        return launcher


@contextlib.contextmanager
def running_pods() -> Iterator[None]:
    """Around a run: the launcher ends when the last run using it ends (its pods' CPU is then this process's)."""
    with _shared_lock:
        _shared["users"] += 1
    try:
        yield
    finally:
        with _shared_lock:
            _shared["users"] -= 1
            last = _shared["users"] == 0
        if last:
            _close_shared()


def _close_shared() -> None:
    with _shared_lock:
        launcher: PodLauncher | None = _shared["launcher"]
        mine = _shared["pid"] == os.getpid()
        _shared.update(launcher=None)
    if launcher is not None and mine:
        launcher.close()
