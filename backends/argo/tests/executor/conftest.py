"""Helpers: run a manifest (YAML text) through the executor, in a fresh folder, and read what its pods got."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flowyard_argo.executor.images import ImageMap
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.versions import argo_version
from flowyard_argo.executor.workflow import WorkflowRun, prepare, run_workflow

needs_namespaces = pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")


def run_manifest(text: str, folder: Path, version: str = "4.1.2", **overrides: object) -> WorkflowRun:
    v = argo_version(version)
    wf, _ = prepare(yaml.safe_load(text), v, source="test.yaml", **overrides)  # type: ignore[arg-type]
    return run_workflow(wf, v, ImageMap.load(None), folder)


def by_display(run: WorkflowRun) -> dict[str, object]:
    return {n.display_name: n for n in run.tree.nodes.values()}


def argv_of(node: object, folder: Path) -> list[str]:
    """What the pod printed (its argv, as JSON): the pod's log, as ``argo logs`` shows it."""
    return json.loads((folder / "pods" / node.pod / "stdout.log").read_text())  # type: ignore[attr-defined]
