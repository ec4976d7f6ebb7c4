"""What ``executeTemplate`` does around a template's run (``workflow/controller/operator.go``): its inputs from
ConfigMaps, its ``synchronization`` locks held for the node's life, then its ``memoize`` cache looked up (in that
order: a node waiting for a lock checks the cache once it has it) and filled when it succeeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor.configmaps import ConfigMapError, resolve_inputs
from flowyard_argo.executor.context import ExecutionError, RunContext
from flowyard_argo.executor.memoize import lookup, memo_of, save
from flowyard_argo.executor.nodes import Node
from flowyard_argo.executor.synchronization import Lock, LockError, holding, locks
from flowyard_argo.executor.template import TemplateError, substitute_object

LOCKS = ".argo-locks"


def configmap_inputs(run: RunContext, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input parameters from ConfigMaps, their name and key substituted with the globals first
    (``substituteConfigMapKeyRefParam``)."""
    if not any((p.get("valueFrom") or {}).get("configMapKeyRef") for p in params):
        return params
    try:
        substituted = [
            {**p, "valueFrom": substitute_object(p["valueFrom"], run.globals, allow_unresolved=True)}
            if (p.get("valueFrom") or {}).get("configMapKeyRef")
            else p
            for p in params
        ]
        return resolve_inputs(substituted, run.configmaps)
    except (ConfigMapError, TemplateError) as e:
        raise ExecutionError(str(e)) from None


def lock_folder(run: RunContext) -> Path:
    """Where the locks of every run of this runs folder live."""
    return run.folder.parent / LOCKS


def workflow_locks(run: RunContext) -> list[Lock]:
    """The workflow-level ``synchronization`` locks (their limits read once, before anything runs)."""
    sync = run.spec.get("synchronization")
    return locks(sync, run.namespace, run.configmaps) if isinstance(sync, Mapping) else []


@contextmanager
def node_locks(run: RunContext, node: Node, template: Mapping[str, Any]) -> Iterator[None]:
    """Hold the template's locks; the node is Pending with the controller's message while it waits."""
    sync = template.get("synchronization")
    try:
        wanted = locks(sync, run.namespace, run.configmaps) if isinstance(sync, Mapping) else []
    except LockError as e:
        raise ExecutionError(str(e)) from None
    if not wanted:
        yield
        return

    def waiting(message: str) -> None:
        node.phase, node.message = TaskState.PENDING, message

    with holding(lock_folder(run), wanted, waiting):
        if node.phase is TaskState.PENDING:
            node.phase, node.message = TaskState.RUNNING, ""  # markNodeWaitingForLock(node, "", "")
        yield


def run_guarded(run: RunContext, node: Node, template: Mapping[str, Any], dispatch: Callable[[], None]) -> None:
    """Run ``dispatch`` (the template's own run) under the template's locks, unless its cache has the outputs."""
    with node_locks(run, node, template):
        memo = memo_of(template, run.folder.parent, run.namespace)
        if memo is not None:
            outputs = lookup(memo)
            node.memoization = memo.status(outputs is not None)
            if outputs is not None:
                node.outputs = outputs
                node.finish(TaskState.SUCCEEDED)
                return
        dispatch()
        if memo is not None and node.phase is TaskState.SUCCEEDED:
            save(memo, node.id, node.outputs)
