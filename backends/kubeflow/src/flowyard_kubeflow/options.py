"""The kubeflow backend's options (``-O key=value``)."""

from __future__ import annotations

from typing import Literal

from flowyard.backend import BackendOptions
from pydantic import Field, field_validator


class KubeflowOptions(BackendOptions):
    default_image: str | None = Field(
        default=None,
        description="Image of steps that name none (Python-function steps need kfp and flowyard-core in it).",
    )
    local_base_image: str = Field(
        default="python:3.11-slim",
        description="base_image of the components kfp.local runs (recorded only: they run in this Python).",
    )
    kfp_version: Literal["2.5", "2.14", "2.17"] = Field(
        default="2.17",
        description="The KFP server version to compile for (2.5, 2.14, 2.17): what it cannot run is refused by name.",
    )
    pipeline_root: str | None = Field(default=None, description="defaultPipelineRoot of the package (e.g. s3://b/p).")
    retries_in_fan_out: bool = Field(
        default=False,
        description="Allow retries inside a fan-out, which KFP's server ignores there (kubeflow/pipelines 13897).",
    )
    poll_seconds: float = Field(default=5.0, gt=0, description="How often submit --watch asks the server.")
    watch_timeout: float | None = Field(default=None, gt=0, description="Stop watching after this many seconds.")

    @field_validator("kfp_version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        """``-O kfp_version=2.14`` arrives as a number."""
        return f"{value:g}" if isinstance(value, float) else value
