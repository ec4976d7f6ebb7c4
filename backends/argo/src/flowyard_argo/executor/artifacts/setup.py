"""The run's artifact settings from the user's options, checked before anything runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flowyard_argo.executor.artifacts.repository import RepositoryError, has_location, load_repository
from flowyard_argo.executor.artifacts.secrets import Secrets
from flowyard_argo.executor.artifacts.transfer import ArtifactError, ArtifactSettings


def artifact_settings(
    spec: Mapping[str, Any],
    *,
    repository: str | None = None,
    secrets: str | None = None,
    endpoint: str | None = None,
    allow_remote: bool = False,
) -> ArtifactSettings:
    """The repository (``spec.artifactRepositoryRef`` resolved in the file), secrets and endpoint rules; every
    endpoint written in the manifest or the repository is checked now (:class:`RepositoryError` if refused)."""
    if secrets is not None and not Path(secrets).is_dir():
        raise RepositoryError(f"secrets {secrets}: not a folder (it holds <secret name>/<key> files)")
    found = load_repository(repository, spec.get("artifactRepositoryRef"))
    settings = ArtifactSettings(found, Secrets(Path(secrets) if secrets else None), endpoint or None, allow_remote)
    locations = [found["s3"]] if found else []
    locations += [s3 for s3 in _complete_s3(spec) if "{{" not in str(s3.get("endpoint"))]
    for location in locations:
        try:
            settings.endpoint_of(location)
        except ArtifactError as e:
            raise RepositoryError(str(e)) from None
    return settings


def _complete_s3(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every S3 location written in full (endpoint, bucket, key) anywhere in the spec."""
    if isinstance(value, Mapping):
        if has_location(value):
            yield value["s3"]
        for item in value.values():
            yield from _complete_s3(item)
    elif isinstance(value, list):
        for item in value:
            yield from _complete_s3(item)
