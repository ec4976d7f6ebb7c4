"""The kubeflow backend's options (``-O key=value``)."""

from __future__ import annotations

from flowyard.backend import BackendOptions
from pydantic import Field


class KubeflowOptions(BackendOptions):
    default_image: str | None = Field(
        default=None,
        description="Image of steps that name none (Python-function steps need kfp and flowyard-core in it).",
    )
    local_base_image: str = Field(
        default="python:3.11-slim",
        description="base_image of the components kfp.local runs (recorded only: they run in this Python).",
    )
    pipeline_root: str | None = Field(default=None, description="defaultPipelineRoot of the package (e.g. s3://b/p).")
    retries_in_fan_out: bool = Field(
        default=False,
        description="Allow retries inside a fan-out, which KFP's server ignores there (kubeflow/pipelines 12389).",
    )
    poll_seconds: float = Field(default=5.0, gt=0, description="How often submit --watch asks the server.")
    watch_timeout: float | None = Field(default=None, gt=0, description="Stop watching after this many seconds.")
