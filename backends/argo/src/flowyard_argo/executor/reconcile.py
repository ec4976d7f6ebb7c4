"""The controller's reconciliation, as far as hooks see it: any node's change wakes the run, and every active node's
lifecycle hooks (and the workflow's) are evaluated again (``operator.go`` ``operate`` runs ``executeTemplate`` over
the tree at each reconciliation: ``executeTmplLifeCycleHook``, ``executeWfLifeCycleHook``).

Watchers run on one thread of the run's own, never on the thread that reported the change: that thread may hold a
steps/DAG lock a watcher needs to read its scope.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Reconciler:
    """Calls each watcher after each change (changes that come together are seen together)."""

    def __init__(self) -> None:
        self._watchers: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def watch(self, key: int, watcher: Callable[[], None]) -> None:
        with self._lock:
            self._watchers[key] = watcher
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="flowyard-argo-reconcile", daemon=True)
                self._thread.start()

    def unwatch(self, key: int) -> None:
        with self._lock:
            self._watchers.pop(key, None)

    def changed(self) -> None:
        """A node changed phase (or a global was set): wake the watchers."""
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                watchers = list(self._watchers.values())
            for watcher in watchers:
                if self._closed:
                    return
                watcher()
