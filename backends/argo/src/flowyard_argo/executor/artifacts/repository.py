"""The default artifact repository and where an artifact lives in it.

``-O artifact_repository=FILE`` holds Argo's own configuration, one YAML document or several: the controller's
configmap (``workflow-controller-configmap``: ``data.artifactRepository``, or its parsed form with a top-level
``artifactRepository``) and/or ``artifact-repositories`` ConfigMaps whose ``data`` keys each hold a repository.
``Resolve`` (``workflow/artifactrepositories/artifactrepositories.go``): ``spec.artifactRepositoryRef`` picks a
ConfigMap (default ``artifact-repositories``) and a key (default its annotation
``workflows.argoproj.io/default-artifact-repository``), and must be found; without a ref that ConfigMap's default
comes first, then the controller's. Without a file the repository is the run's folder (``<run>/repository``).

An artifact is placed as ``Artifact.Relocate`` (``pkg/apis/workflow/v1alpha1/workflow_types.go``) places it: a
complete S3 location (endpoint, bucket and key) is used as written; anything else keeps only its key on the
repository (an endpoint without a bucket is dropped). The repository's key is ``keyFormat``, by default
``keyPrefix`` joined with ``{{workflow.name}}/{{pod.name}}`` (``S3ArtifactRepository.IntoArtifactLocation``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_ARCHIVE_PATTERN = "{{workflow.name}}/{{pod.name}}"
DEFAULT_CONFIGMAP = "artifact-repositories"
DEFAULT_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
REPOSITORY_KINDS = ("s3", "gcs", "azure", "oss", "hdfs", "artifactory", "plugin")
REFUSED_LOCATIONS = ("git", "http", "gcs", "azure", "oss", "hdfs", "artifactory", "plugin")
FOLDER = "folder"  # the run folder's repository, a location kind of this executor's own


class RepositoryError(ValueError):
    """An artifact repository file that cannot be used (refused by name before anything runs)."""


def load_repository(path: str | None, ref: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``ArtifactRepository`` the workflow uses, ``None`` for the run folder."""
    if not path:
        if ref:
            raise RepositoryError(f"spec.artifactRepositoryRef {dict(ref)}: no -O artifact_repository=FILE holds it")
        return None
    try:
        docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if isinstance(d, Mapping)]
    except (OSError, yaml.YAMLError) as e:
        raise RepositoryError(f"artifact_repository {path}: {e}") from None
    repository = _resolve(docs, ref, path)
    return _checked(repository, path)


def _resolve(docs: list[Mapping[str, Any]], ref: Mapping[str, Any] | None, path: str) -> Mapping[str, Any] | None:
    name = str((ref or {}).get("configMap") or DEFAULT_CONFIGMAP)
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and (doc.get("metadata") or {}).get("name") == name:
            annotations = (doc.get("metadata") or {}).get("annotations") or {}
            key = str((ref or {}).get("key") or annotations.get(DEFAULT_ANNOTATION) or "")
            value = (doc.get("data") or {}).get(key)
            if value is not None:
                parsed = yaml.safe_load(value) if isinstance(value, str) else value
                return parsed if isinstance(parsed, Mapping) else {}
    if ref:
        raise RepositoryError(f'failed to find any artifact repository for artifact repository ref "{dict(ref)}"')
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and isinstance((doc.get("data") or {}).get("artifactRepository"), str):
            parsed = yaml.safe_load(doc["data"]["artifactRepository"])
            return parsed if isinstance(parsed, Mapping) else {}
        if isinstance(doc.get("artifactRepository"), Mapping):
            return doc["artifactRepository"]  # type: ignore[no-any-return]
    raise RepositoryError(f"artifact_repository {path}: no artifactRepository, nor a {DEFAULT_CONFIGMAP} ConfigMap")


def _checked(repository: Mapping[str, Any] | None, path: str) -> dict[str, Any] | None:
    if repository is None:
        return None
    kinds = [k for k in REPOSITORY_KINDS if repository.get(k) is not None]
    if not kinds:
        return None  # an empty repository: the run folder
    if kinds[0] != "s3":
        raise RepositoryError(f"artifact_repository {path}: {kinds[0]} repositories cannot be reached from here")
    return dict(repository)


def archive_location(repository: Mapping[str, Any] | None) -> dict[str, Any]:
    """``ToArtifactLocation``: the repository as a location whose key is its (unresolved) key format."""
    if repository is None:
        return {FOLDER: {"key": DEFAULT_ARCHIVE_PATTERN}}
    s3 = dict(repository["s3"])
    key = s3.pop("keyFormat", None) or posixpath.join(s3.pop("keyPrefix", None) or "", DEFAULT_ARCHIVE_PATTERN)
    s3.pop("keyPrefix", None)
    return {"s3": {**s3, "key": key}}


def key_of(art: Mapping[str, Any]) -> str | None:
    """``GetKey``: the artifact's key, ``None`` when it has none."""
    for kind in ("s3", FOLDER):
        location = art.get(kind)
        if isinstance(location, Mapping) and location.get("key"):
            return str(location["key"])
    return None


def has_location(art: Mapping[str, Any]) -> bool:
    """``S3Artifact.HasLocation``: endpoint, bucket and key all set."""
    s3 = art.get("s3")
    return isinstance(s3, Mapping) and all(s3.get(k) for k in ("endpoint", "bucket", "key"))


# ArtifactLocation.Get's order: the first kind set is the artifact's location; with each kind, the fields its
# HasLocation needs all set, and how its GetKey reads its key (None: it has none, GetKey's error)
_KINDS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("artifactory", ("url", "usernameSecret"), "url"),
    ("azure", ("endpoint", "container", "blob"), "blob"),
    ("git", ("repo",), None),
    ("gcs", ("bucket", "key"), "key"),
    ("hdfs", ("addresses",), "path"),
    ("http", ("url",), "url"),
    ("oss", ("bucket", "endpoint", "key"), "key"),
    ("raw", (), None),
    ("s3", ("endpoint", "bucket", "key"), "key"),
    ("plugin", ("name", "configuration", "key"), "key"),
)


def has_location_or_key(art: Mapping[str, Any]) -> bool:
    """``ArtifactLocation.HasLocationOrKey``: whether the artifact has somewhere to load from, a complete location
    or a key of the first location kind it has (``Get``); an URL's key is its path. This executor's run-folder kind
    has a key or nothing. The one rule for ``ProcessArgs`` (an input that needs an argument), the input volume's
    mount (``addInputArtifactsVolumes``) and the pod's load (``loadArtifact``)."""
    folder = art.get(FOLDER)
    if isinstance(folder, Mapping) and folder.get("key"):
        return True
    for kind, needs, key_field in _KINDS:
        location = art.get(kind)
        if location is None:
            continue
        if not isinstance(location, Mapping):
            return False
        if all(location.get(field) for field in needs):
            return True  # HasLocation (raw: set at all)
        key = str(location.get(key_field) or "") if key_field else ""
        return bool(_url_path(key) if key_field == "url" else key)
    return False


def _url_path(url: str) -> str:
    """``url.Parse(u).Path``; an URL that does not parse has no key."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def relocate(art: Mapping[str, Any], archive: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
    """``Relocate``: the artifact's own location when complete, else the repository's with the artifact's key
    (an S3 artifact without one keeps the empty key: the repository's whole bucket)."""
    if key is None and has_location(art):
        return {"s3": dict(art["s3"])}
    if key is None:
        key = key_of(art) or (str(art["s3"].get("key") or "") if isinstance(art.get("s3"), Mapping) else None)
    if key is None:  # ArtifactLocation.Get: no location at all
        raise RepositoryError(f"artifact {art.get('name')}: artifact storage is not configured")
    kind = next(iter(archive))
    return {kind: {**archive[kind], "key": key}}
