"""The pod launcher: one small process per run that forks every pod, so that no pod starts an interpreter of its own.

Started once (``python -I -S PATH/podinit.py``, standard library only, run as a file), it reads requests from its
stdin, one JSON object a line (``id``, ``root``, ``workdir``, ``binds``, ``readonly``, ``env``, ``argv``, ``stdout``,
``stderr``, ``timeout``), and answers on its stdout one line per pod when it has ended (``id``, ``status``: the wait
status, ``timed_out``). Per request it forks a child, which puts itself in a process group of its own, enters fresh
mount and network namespaces (``unshare(2)``), builds the pod's root in the pod's own ``root/`` folder (so what the
pod writes outside its declared folders, ``/result.txt`` say, stays there as in a container's filesystem): the
host's system folders read-only, the pod's own folders read-write at the image paths; then chroots there and
executes the pod's argv (no shell). The fork is of this process, single-threaded, with its modules loaded: nothing
is imported or started per pod.

Nothing outlives its pod or the run: when a pod's first process ends, its whole group is killed (a container ends
with its first process); at its deadline the group is killed (``SIGKILL``); when the run's process ends, however it
ends, this process's stdin closes and every pod's group still running is killed before it exits.
``python -I -S podinit.py --probe`` exits 0 where mount and network namespaces can be made, 1 where they cannot.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import sys
import time
from typing import Any

SYSTEM_DIRS = ("usr", "etc")
DEVICE_DIRS = ("dev", "proc", "sys")
SYMLINKS = ("bin", "lib", "lib64", "sbin", "lib32", "libx32")

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
PR_SET_PDEATHSIG = 1
SETUP_FAILED = 64  # the pod's program never started: emissary's exit code then (``runEmissary``'s ``exitCode := 64``)

LIBC = ctypes.CDLL(None, use_errno=True)


def _bytes(value: str | None) -> bytes | None:
    return value.encode() if value is not None else None


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """``mount(2)``; an error names the target and the reason."""
    _check(LIBC.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)), f"mount {target}")


def enter_namespaces() -> None:
    """Fresh mount and network namespaces for this process (``unshare(2)``: Python 3.11 has no ``os.unshare``)."""
    _check(LIBC.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare mount and network namespaces")


def _inside(root: str, target: str) -> str:
    return os.path.join(root, target.lstrip("/"))


def _build_root(root: str, binds: dict[str, str], readonly: dict[str, str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for name in SYSTEM_DIRS + DEVICE_DIRS:
        if os.path.isdir("/" + name):
            os.mkdir(os.path.join(root, name))
            _mount(f"/{name}", os.path.join(root, name), None, MS_BIND | MS_REC)
            if name in SYSTEM_DIRS:
                _mount(None, os.path.join(root, name), None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for name in SYMLINKS:
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), os.path.join(root, name))
    for target in sorted(binds, key=len):
        os.makedirs(_inside(root, target), exist_ok=True)
        _mount(binds[target], _inside(root, target), None, MS_BIND)
    for target in sorted(readonly, key=len):  # the image map's mounts: host folders shown read-only
        os.makedirs(_inside(root, target), exist_ok=True)
        _mount(readonly[target], _inside(root, target), None, MS_BIND | MS_REC)
        _mount(None, _inside(root, target), None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _redirect(request: dict[str, Any]) -> None:
    """stdin from /dev/null, stdout and stderr to the pod's logs (this also drops the launcher's own pipes)."""
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)


def _become_pod(request: dict[str, Any]) -> None:
    """In the forked child: its own group, signals as a fresh process has them, namespaces, root; then exec."""
    os.setpgid(0, 0)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the launcher killed outright takes its pods along
    _redirect(request)
    enter_namespaces()
    _build_root(request["root"], request["binds"], request["readonly"])
    os.chroot(request["root"])
    os.chdir(request["workdir"])
    argv = request["argv"]
    os.execve(argv[0], argv, request["env"])  # noqa: S606 - the pod's own argv, no shell


def _fork_pod(request: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:
        code = SETUP_FAILED
        try:
            _become_pod(request)
        except BaseException as e:  # noqa: BLE001 - the child must never return into the launcher's loop
            with contextlib.suppress(BaseException):
                os.write(2, f"pod: {e}\n".encode())
        finally:
            os._exit(code)
    with contextlib.suppress(OSError):  # also from here, so that a kill right after the fork reaches the group
        os.setpgid(pid, pid)
    return pid


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


class Launcher:
    """The loop: requests in, pods forked, ended pods reaped (their groups killed first) and answered."""

    def __init__(self) -> None:
        self.pods: dict[int, tuple[int, float | None]] = {}  # pid -> request id, deadline
        self.timed_out: set[int] = set()
        self.buffer = b""
        self.open = True

    def serve(self) -> None:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        os.set_blocking(wake_read, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_write)
        selector = selectors.DefaultSelector()
        selector.register(0, selectors.EVENT_READ, "requests")
        selector.register(wake_read, selectors.EVENT_READ, "children")
        try:
            while self.open or self.pods:
                for key, _ in selector.select(self._wait()):
                    if key.data == "requests":
                        self._read_requests(selector)
                    else:
                        with contextlib.suppress(BlockingIOError):
                            os.read(wake_read, 4096)
                self._expire()
                self._reap()
        finally:
            for pid in list(self.pods):
                _kill_group(pid)

    def _wait(self) -> float | None:
        deadlines = [d for _, d in self.pods.values() if d is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _read_requests(self, selector: selectors.BaseSelector) -> None:
        chunk = os.read(0, 1 << 16)
        if not chunk:  # the run's process has ended: nothing it started may outlive it
            selector.unregister(0)
            self.open = False
            for pid in list(self.pods):
                _kill_group(pid)
            return
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        for line in lines:
            request = json.loads(line)
            pid = _fork_pod(request)
            timeout = request.get("timeout")
            self.pods[pid] = (request["id"], None if timeout is None else time.monotonic() + timeout)

    def _expire(self) -> None:
        now = time.monotonic()
        for pid, (_, deadline) in list(self.pods.items()):
            if deadline is not None and deadline <= now and pid not in self.timed_out:
                self.timed_out.add(pid)
                _kill_group(pid)

    def _reap(self) -> None:
        while self.pods:
            ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if ended is None:
                return
            pid = ended.si_pid
            _kill_group(pid)  # still a zombie, so its group id cannot have been reused
            _, status = os.waitpid(pid, 0)
            if pid not in self.pods:
                continue
            request_id, _ = self.pods.pop(pid)
            reply = {"id": request_id, "status": status, "timed_out": pid in self.timed_out}
            self.timed_out.discard(pid)
            if self.open:
                with contextlib.suppress(BrokenPipeError):
                    os.write(1, json.dumps(reply).encode() + b"\n")


def probe() -> int:
    """0 when this process may make mount and network namespaces (tried in a child), else 1."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            enter_namespaces()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return 0 if os.waitstatus_to_exitcode(status) == 0 else 1


def main(args: list[str]) -> int:
    if args == ["--probe"]:
        return probe()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the run's to handle; its end closes our stdin
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    Launcher().serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
