"""What every part of a running workflow shares: templates, scope of globals, the node tree, pods' limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowyard_argo.executor.artifacts.transfer import ArtifactStore
from flowyard_argo.executor.configmaps import ConfigMaps
from flowyard_argo.executor.images import ImageMap
from flowyard_argo.executor.nodes import NodeTree
from flowyard_argo.executor.reconcile import Reconciler
from flowyard_argo.executor.versions import ArgoVersion

if TYPE_CHECKING:
    from flowyard_argo.executor.record import RunRecord


class ExecutionError(Exception):
    """An error the controller would record on a node (message in its words); the node is marked Error."""


@dataclass
class RunContext:
    """One workflow run; mutable run state lives in ``tree``, ``globals`` and ``global_outputs``."""

    name: str
    spec: Mapping[str, Any]
    version: ArgoVersion
    images: ImageMap
    folder: Path
    tree: NodeTree
    globals: dict[str, str | None] = field(default_factory=dict)
    global_artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    pod_slots: threading.BoundedSemaphore | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    previous: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # node name -> node, for a retry
    configmaps: ConfigMaps = field(default_factory=ConfigMaps)  # -O configmaps=, the file's ConfigMaps
    record: RunRecord | None = None  # core's run folder: journal, task logs, provenance, progress
    deadline: float | None = None  # the workflow's (epoch seconds); None without one, and inside exit handlers
    reconciler: Reconciler = field(default_factory=Reconciler)  # hooks evaluated again as any node changes
    artifacts: ArtifactStore | None = None  # the repository and S3 settings; None: the run folder's repository

    @property
    def namespace(self) -> str:
        return self.globals.get("workflow.namespace") or "default"

    @property
    def templates(self) -> dict[str, Mapping[str, Any]]:
        return {t["name"]: t for t in self.spec.get("templates") or []}

    def template(self, holder: Mapping[str, Any]) -> Mapping[str, Any]:
        """The template a step/task names (``template``) or carries (``inline``)."""
        if holder.get("inline") is not None:
            return {"name": "", **holder["inline"]}
        name = holder.get("template") or ""
        found = self.templates.get(name)
        if found is None:
            raise ExecutionError(f"template name '{name}' undefined")
        defaults = self.spec.get("templateDefaults") or {}
        return _merge(defaults, found) if defaults else found

    def set_global(self, key: str, value: str | None) -> None:
        with self.lock:
            self.globals[key] = value


DEADLINE_EXCEEDED = "Step exceeded its deadline"  # operator.go, exec_control.go: a node past the workflow's deadline


def past_deadline(run: RunContext) -> bool:
    return run.deadline is not None and time.time() >= run.deadline


def _merge(defaults: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """``templateDefaults`` under the template: maps merged key by key, the template's values winning."""
    out: dict[str, Any] = dict(defaults)
    for key, value in template.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
