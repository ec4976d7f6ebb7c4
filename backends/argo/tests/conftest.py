"""Shared helpers: compile a pipeline for Argo and load the manifest back as a dict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from flowyard._lowering import lower
from flowyard.ir import PipelineIR
from flowyard.spec import Pipeline
from flowyard_argo import ArgoBackend
from flowyard_argo.executor.pods import namespaces_available

from .argo_schema import schema_errors, semantic_errors

STEP_IMAGE = "registry.example/flowyard-step:0.1"
# a test that executes a manifest: the executor's pods need new mount and network namespaces
needs_pods = pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")


def manifest(pipeline: Pipeline | PipelineIR, **options: Any) -> dict[str, Any]:
    """Compile and check strictly: every manifest a test looks at is also schema-valid."""
    ir = pipeline if isinstance(pipeline, PipelineIR) else lower(pipeline)
    backend = ArgoBackend({"default_image": STEP_IMAGE, **options})
    doc = yaml.safe_load(backend.compile(ir).main.content)
    problems = schema_errors(doc) + semantic_errors(doc)
    assert not problems, problems
    return doc


def template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def task(doc: dict[str, Any], name: str, dag: str = "main") -> dict[str, Any]:
    return next(t for t in template(doc, dag)["dag"]["tasks"] if t["name"] == name)


@pytest.fixture
def compile_argo():
    return manifest


def served_workflow(run_folder: Path) -> dict[str, Any]:
    """An executed run's workflow as an Argo Server gives it (its spec and final status), from its run folder."""
    spec = yaml.safe_load((run_folder / "manifest.yaml").read_text(encoding="utf-8"))["spec"]
    return {"spec": spec, **json.loads((run_folder / "workflow.json").read_text(encoding="utf-8"))}
