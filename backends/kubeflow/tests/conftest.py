"""Shared helpers: compile for Kubeflow Pipelines and check the package strictly."""

from __future__ import annotations

from typing import Any

import yaml
from flowyard._lowering import lower
from flowyard.ir import PipelineIR
from flowyard.spec import Pipeline
from flowyard_kubeflow import KubeflowBackend

from .kfp_checks import check_package

STEP_IMAGE = "registry.example/flowyard-step:0.1"


def package(pipeline: Pipeline | PipelineIR, tmp_path: Any, **options: Any) -> dict[str, Any]:
    """Compile (cluster package), check it every way, and return its first document."""
    ir = pipeline if isinstance(pipeline, PipelineIR) else lower(pipeline)
    text = KubeflowBackend({"default_image": STEP_IMAGE, **options}).compile(ir).main.content
    check_package(text, tmp_path, options.get("kfp_version"))
    return next(d for d in yaml.safe_load_all(text) if d)


def executor(doc: dict[str, Any], component: str) -> dict[str, Any]:
    label = doc["components"][f"comp-{component}"]["executorLabel"]
    return doc["deploymentSpec"]["executors"][label]["container"]


def tasks(doc: dict[str, Any], component: str | None = None) -> dict[str, Any]:
    owner = doc["root"] if component is None else doc["components"][f"comp-{component}"]
    return owner["dag"]["tasks"]
