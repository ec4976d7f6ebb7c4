"""``synchronization`` (mutexes and semaphores, workflow- and template-level) as locks on this machine.

A lock is named as the controller names it (``workflow/sync/lock_name.go``: ``NAMESPACE/Mutex/NAME``,
``NAMESPACE/ConfigMap/NAME/KEY``, ``NAMESPACE/Database/NAME``) and is a set of ``flock(2)`` slot files under the
runs folder's ``.argo-locks/``: one slot for a mutex, the ConfigMap key's number for a semaphore. So locks hold
between the pods of one run and between concurrent ``flowyard run``s sharing a runs folder (one machine only). A
database mutex is the same mutex (the database only shares it between controllers); a database semaphore's limit
lives in the controller's database and is refused by name. A holder waits (its node Pending with the controller's
``Waiting for LOCK lock. Lock status: FREE/LIMIT`` message) until a slot frees.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard_argo.executor.configmaps import ConfigMapError, ConfigMaps

POLL_SECONDS = 0.1


class LockError(ValueError):
    """A lock that cannot be initialised (the controller's words: ``failed to initialize semaphore ...``)."""


@dataclass(frozen=True)
class Lock:
    """One lock of a ``synchronization`` block: its name as the controller writes it, and its slots."""

    name: str
    limit: int


def refusals(sync: Mapping[str, Any], path: str) -> list[str]:
    """What of a ``synchronization`` block cannot run here (a database semaphore, the old single forms)."""
    out = []
    for index, sem in enumerate(sync.get("semaphores") or []):
        if isinstance(sem, Mapping) and sem.get("database") is not None:
            out.append(
                f"{path}.synchronization.semaphores[{index}].database: a database semaphore "
                "(its limit lives in the controller's database)"
            )
    if sync.get("semaphore") is not None or sync.get("mutex") is not None:
        out.append(f"{path}.synchronization.semaphore/mutex: the single forms (deprecated in v3.6; the lists run here)")
    return out


def locks(sync: Mapping[str, Any], namespace: str, configmaps: ConfigMaps) -> list[Lock]:
    """The locks a ``synchronization`` block names, with their limits, in the order it names them
    (``syncitems.go`` ``allSyncItems``: semaphores, then mutexes)."""
    found = []
    for sem in sync.get("semaphores") or []:
        ref = sem.get("configMapKeyRef") or {}
        ns = sem.get("namespace") or namespace
        name = f"{ns}/ConfigMap/{ref.get('name')}/{ref.get('key')}"
        try:
            text = configmaps.value(str(ref.get("name")), str(ref.get("key")), parameter=False)
            limit = int(text.strip())
        except (ConfigMapError, ValueError) as e:
            raise LockError(f"failed to initialize semaphore {name} with limit: {e}") from None
        if limit <= 0:
            raise LockError(f"failed to initialize semaphore {name} with limit")
        found.append(Lock(name, limit))
    for mutex in sync.get("mutexes") or []:
        kind = "Database" if mutex.get("database") else "Mutex"
        found.append(Lock(f"{mutex.get('namespace') or namespace}/{kind}/{mutex.get('name')}", 1))
    return found


@contextmanager
def holding(folder: Path, wanted: list[Lock], waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold every lock of ``wanted`` (all or none at a time, as ``tryAcquireImpl`` does); ``waiting(message)`` is
    called once while the first one is busy."""
    held: list[int] = []
    told = False
    try:
        while True:
            failed = _try_all(folder, wanted, held)
            if failed is None:
                break
            for fd in held:
                os.close(fd)
            held.clear()
            if not told:
                waiting(f"Waiting for {failed.name} lock. Lock status: 0/{failed.limit}")
                told = True
            time.sleep(POLL_SECONDS)
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing the descriptor releases its flock


def _try_all(folder: Path, wanted: list[Lock], held: list[int]) -> Lock | None:
    """Take a free slot of each lock into ``held``; the first lock with none free (``None``: all taken)."""
    for lock in wanted:
        fd = _free_slot(folder, lock)
        if fd is None:
            return lock
        held.append(fd)
    return None


def _free_slot(folder: Path, lock: Lock) -> int | None:
    base = folder / hashlib.sha256(lock.name.encode()).hexdigest()[:32]
    base.mkdir(parents=True, exist_ok=True)
    (base / "name").write_text(lock.name)
    for slot in range(lock.limit):
        fd = os.open(base / f"slot-{slot}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None
