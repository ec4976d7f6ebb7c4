"""Entry point of the argo backend: registers the backend class (and imports nothing heavy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard import hookimpl
from flowyard.hookspecs import DocumentRunner
from flowyard.plugins import RegisterBackend

from flowyard_argo.backend import ArgoBackend


@hookimpl
def flowyard_register_backends(register: RegisterBackend) -> None:
    register(ArgoBackend)


ARGO_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate")


@hookimpl
def flowyard_document_runner(document: Mapping[str, Any]) -> DocumentRunner | None:
    """Claim Argo Workflow manifests: ``flowyard run MANIFEST.yaml`` executes them with the Argo executor."""
    if str(document.get("apiVersion", "")).startswith("argoproj.io/") and document.get("kind") in ARGO_KINDS:
        from flowyard_argo.manifest_run import run_document

        return run_document
    return None
