"""The workflow's node tree as the controller records it in ``status.nodes``, and its ``argo get``-style rendering.

Node IDs and pod names follow ``Workflow.NodeID`` and ``workflow/util/pod_name.go`` ``GeneratePodName`` (v2 names:
``<workflow>-<template>-<fnv32a(node name)>``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flowyard.runs import TaskState, format_duration

POD, STEPS, STEP_GROUP, DAG, TASK_GROUP, RETRY, SKIPPED = (
    "Pod",
    "Steps",
    "StepGroup",
    "DAG",
    "TaskGroup",
    "Retry",
    "Skipped",
)
EMPTY_LOOP = "Skipped, empty params"  # a loop over no items: its Skipped node's message (steps.go, dag.go)
MAX_POD_NAME_PREFIX = 253 - 10 - 1
BAD = (TaskState.FAILED, TaskState.ERROR)  # the phases that fail a parent unless it continues on them
_SYMBOLS = {TaskState.SUCCEEDED: "✔", TaskState.FAILED: "✖", TaskState.ERROR: "⚠", TaskState.RUNNING: "●"}


def fnv32a(text: str) -> int:
    """``hash/fnv`` New32a over the UTF-8 bytes."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def node_id(workflow: str, name: str) -> str:
    return workflow if name == workflow else f"{workflow}-{fnv32a(name)}"


def pod_name(workflow: str, name: str, template: str) -> str:
    if name == workflow:
        return workflow
    prefix = f"{workflow}-{template}" if template else workflow
    return f"{prefix[:MAX_POD_NAME_PREFIX]}-{fnv32a(name)}"


@dataclass
class Node:
    """One entry of ``status.nodes``; the engine updates it as the run unfolds."""

    id: str
    name: str
    display_name: str
    type: str
    template: str
    phase: TaskState = TaskState.PENDING
    message: str = ""
    children: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    pod: str | None = None
    hooked: bool = False  # a hook's or exit handler's node (``NodeFlag.Hooked``)
    memoization: dict[str, Any] | None = None  # ``memoizationStatus`` (memoize.py)

    def finish(self, phase: TaskState, message: str = "") -> Node:
        self.phase = phase
        self.message = message or self.message
        self.finished_at = time.time()
        return self

    @property
    def fulfilled(self) -> bool:
        return bool(self.phase.done)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "type": self.type,
            "templateName": self.template,
            "phase": self.phase.value,
            "message": self.message,
            "children": self.children,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        }
        if self.outputs:
            data["outputs"] = self.outputs
        if self.inputs:
            data["inputs"] = self.inputs
        if self.pod:
            data["podName"] = self.pod
        if self.hooked:
            data["nodeFlag"] = {"hooked": True}
        if self.memoization is not None:
            data["memoizationStatus"] = self.memoization
        return data


class NodeTree:
    """All nodes of one workflow run, safe to update from the threads that run branches."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self.nodes: dict[str, Node] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()

    def create(self, name: str, display: str, kind: str, template: str, parent: Node | None) -> Node:
        node = Node(node_id(self.workflow, name), name, display, kind, template, started_at=time.time())
        if kind == POD:
            node.pod = pod_name(self.workflow, name, template)
        with self._lock:
            self.nodes[node.id] = node
            self.order.append(node.id)
            if parent is not None:
                parent.children.append(node.id)
        return node

    def pods(self) -> list[Node]:
        return [self.nodes[i] for i in self.order if self.nodes[i].type == POD]

    def failures(self) -> list[dict[str, str]]:
        """``workflow.failures`` (``operator.go`` ``setGlobalParameters``): every node in Failed or Error, a DAG or a
        Skipped one too, its pod name generated from its name and template as for a pod (``GeneratePodName``),
        fields in ``NodeFailure``'s order; the controller reads them from a map, so in no set order."""
        with self._lock:
            nodes = [self.nodes[i] for i in self.order]
        return [
            {
                "displayName": n.display_name,
                "message": n.message,
                "templateName": n.template,
                "phase": n.phase.value,
                "podName": pod_name(self.workflow, n.name, n.template),
                "finishedAt": _rfc3339(n.finished_at),
            }
            for n in nodes
            if n.phase in (TaskState.FAILED, TaskState.ERROR)
        ]

    def render(self, root_id: str) -> str:
        """``argo get``'s tree: STEP, TEMPLATE, PODNAME, DURATION, MESSAGE."""
        rows: list[tuple[str, ...]] = [("STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE")]
        self._rows(root_id, "", True, True, rows, set())
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join(
            "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows
        )

    def _rows(
        self, node_id_: str, prefix: str, last: bool, root: bool, rows: list[tuple[str, ...]], seen: set[str]
    ) -> None:
        """One row per node, each node once (a task under several dependencies shows under the first)."""
        seen.add(node_id_)
        node = self.nodes[node_id_]
        mark = _SYMBOLS.get(node.phase, "○")
        branch = "" if root else ("└─" if last else "├─")
        duration = format_duration((node.finished_at or time.time()) - node.started_at if node.started_at else None)
        rows.append(
            (f"{prefix}{branch}{mark} {node.display_name}", node.template, node.pod or "", duration, node.message)
        )
        child_prefix = prefix if root else prefix + ("  " if last else "│ ")
        children = [c for c in node.children if c not in seen]
        for i, child in enumerate(children):
            if child not in seen:
                self._rows(child, child_prefix, i == len(children) - 1, False, rows, seen)


def _rfc3339(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
