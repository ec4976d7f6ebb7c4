"""The argo backend's options (``-O key=value``): what the manifest targets and how it runs there."""

from __future__ import annotations

from typing import Literal

from flowyard.backend import BackendOptions
from pydantic import Field


class ArgoOptions(BackendOptions):
    kind: Literal["Workflow", "WorkflowTemplate", "CronWorkflow"] = Field(
        default="Workflow", description="Which Argo object to write."
    )
    schedule: str | None = Field(default=None, description="Cron schedule (needed for kind=CronWorkflow).")
    namespace: str | None = Field(default=None, description="metadata.namespace of the manifest.")
    service_account: str | None = Field(default=None, description="spec.serviceAccountName.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="imagePullPolicy of every step's container."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="metadata.labels, as a JSON object.")
    artifact_repository_ref: str | None = Field(
        default=None, description="spec.artifactRepositoryRef: CONFIGMAP or CONFIGMAP/KEY."
    )
    default_image: str | None = Field(
        default=None,
        description="Image of steps that name none (Python-function steps need flowyard-core installed in it).",
    )
    helper_image: str = Field(
        default="python:3.12-alpine",
        description="Image (with python3) of the small task that numbers a run-time fan-out list.",
    )
    python: str = Field(default="python3", description="Interpreter that runs Python-function steps in their image.")
    argo_version: Literal["3.6.19", "3.7.9", "4.1.2"] = Field(
        default="4.1.2",
        description="The Argo release whose controller rules `flowyard run` follows for a manifest.",
    )
    image_map: str | None = Field(
        default=None,
        description="YAML file mapping images to host programs and folders, for running manifests here.",
    )
    configmaps: str | None = Field(
        default=None,
        description="Folder(s) of ConfigMap YAML files (joined with ':') read for a manifest's ConfigMap references.",
    )
    artifact_repository: str | None = Field(
        default=None,
        description="YAML file in Argo's configmap format with the default artifact repository (else the run folder).",
    )
    secrets: str | None = Field(
        default=None, description="Folder of <secret name>/<key> files the manifest's secrets are read from."
    )
    s3_endpoint: str | None = Field(
        default=None, description="HOST:PORT or URL replacing every S3 endpoint (the manifest's and the repository's)."
    )
    allow_remote_endpoints: bool = Field(
        default=False, description="Let artifacts reach S3 endpoints off this machine."
    )
    poll_seconds: float = Field(default=2.0, gt=0, description="How often submit --watch asks the server.")
    watch_timeout: float | None = Field(default=None, gt=0, description="Stop watching after this many seconds.")
