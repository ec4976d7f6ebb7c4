"""Saving a pod's output artifacts and loading its inputs through the repository (``argoexec``'s part).

``saveArtifactFromFile``: an artifact without a key takes the repository's key (its ``keyFormat`` resolved with the
workflow's variables and ``pod.name``) joined with the staged file's name (``<name>.tgz`` by default), then is
relocated; ``loadArtifact``: relocated, loaded to a temporary path, unpacked (:mod:`archive`). S3 endpoints are
replaced by ``-O s3_endpoint=`` when given, and must be on this machine unless ``-O allow_remote_endpoints=true``.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyard_argo.executor.artifacts import archive, s3
from flowyard_argo.executor.artifacts.repository import (
    FOLDER,
    RepositoryError,
    archive_location,
    has_location,
    key_of,
    relocate,
)
from flowyard_argo.executor.artifacts.secrets import SecretError, Secrets

_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class ArtifactError(RuntimeError):
    """A save, load or listing that failed (message redacted); the node errors with it."""


class ArtifactMissing(ArtifactError):
    """Nothing at the artifact's key (an ``optional`` input is then skipped)."""


@dataclass(frozen=True)
class ArtifactSettings:
    """The user's choices for artifacts: the repository, secrets, endpoint override, remote endpoints allowed."""

    repository: Mapping[str, Any] | None = None
    secrets: Secrets = field(default_factory=Secrets)
    endpoint: str | None = None
    allow_remote: bool = False

    def endpoint_of(self, location: Mapping[str, Any]) -> str:
        """The URL an S3 location is reached at, after the override; refused when off this machine."""
        written = str(location.get("endpoint") or "s3.amazonaws.com")
        url = s3.endpoint_url(self.endpoint or written, bool(location.get("insecure")))
        if not self.allow_remote and not s3.is_local(url):
            raise ArtifactError(
                f"S3 endpoint {url} is not on this machine (-O s3_endpoint=HOST:PORT to point it at a local server, "
                "or -O allow_remote_endpoints=true)"
            )
        return url


def resolve_key(key: str, values: Mapping[str, str | None]) -> str:
    """The repository's key format with the workflow's variables (``VerifyResolvedVariables``: none left)."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            raise ArtifactError(f"failed to resolve {match.group(0)} in the artifact repository's keyFormat")
        return value

    return _VARIABLE.sub(one, key)


class ArtifactStore:
    """One run's artifacts: the repository (S3, or the run folder's ``repository/``) and explicit locations."""

    def __init__(self, settings: ArtifactSettings, run_folder: Path) -> None:
        self.settings = settings
        self.root = run_folder / "repository"

    def archive(self, values: Mapping[str, str | None], own: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The template's ``archiveLocation`` when complete (``addArchiveLocation``), else the repository's;
        its key resolved."""
        location = {"s3": dict(own["s3"])} if own and has_location(own) else archive_location(self.settings.repository)
        kind = next(iter(location))
        return {kind: {**location[kind], "key": resolve_key(location[kind]["key"], values)}}

    def save(
        self, art: Mapping[str, Any], host: Path, work: Path, values: Mapping[str, str | None], own: Any = None
    ) -> dict[str, Any]:
        """Save the pod's file or folder as the artifact; the location it was saved to."""
        file_name, local = archive.pack(art, host, work)
        try:
            where = self.archive(values, own)
            key = None if key_of(art) else posixpath.join(key_of(where) or "", file_name)
            location = relocate(art, where, key)
        except RepositoryError as e:
            raise ArtifactError(str(e)) from None
        self._put(location, local)
        return location

    def load(self, art: Mapping[str, Any], target: Path, values: Mapping[str, str | None], own: Any = None) -> None:
        """Load the artifact into ``target`` (unpacked); :class:`ArtifactMissing` when nothing is at its key."""
        try:
            location = relocate(art, self.archive(values, own))
        except RepositoryError as e:
            raise ArtifactError(str(e)) from None
        temporary = target.with_name(target.name + ".tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in (target, temporary):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
        self._get(location, temporary, str(art.get("name")))
        try:
            archive.unpack(art, temporary, target)
        except archive.ArchiveError as e:
            raise ArtifactError(str(e)) from None

    def list(self, art: Mapping[str, Any], values: Mapping[str, str | None], own: Any = None) -> list[str]:
        """``ListObjects``: the keys under the artifact's key (a folder repository lists its files)."""
        try:
            location = relocate(art, self.archive(values, own))
        except RepositoryError as e:
            raise ArtifactError(str(e)) from None
        if FOLDER in location:
            key = location[FOLDER]["key"]
            folder = self._folder_path(key)
            if not folder.exists():
                raise ArtifactMissing(f"no key found of name {key}")
            files = sorted(p for p in folder.rglob("*") if p.is_file())
            return [posixpath.join(key, p.relative_to(folder).as_posix()) for p in files]
        target, key = self._s3(location["s3"])
        keys: list[str] = self._s3_call(lambda: s3.list_keys(target, key))
        return keys

    def _folder_path(self, key: str) -> Path:
        return self.root / posixpath.normpath("/" + key).lstrip("/")

    def _put(self, location: Mapping[str, Any], local: Path) -> None:
        if FOLDER in location:
            path = self._folder_path(location[FOLDER]["key"])
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.rmtree(path)
            if local.is_dir():
                shutil.copytree(local, path)
            else:
                shutil.copyfile(local, path)
            return
        target, key = self._s3(location["s3"])
        self._s3_call(lambda: s3.put(target, key, local))

    def _get(self, location: Mapping[str, Any], dest: Path, name: str) -> None:
        if FOLDER in location:
            key = location[FOLDER]["key"]
            path = self._folder_path(key)
            if not path.exists():
                raise ArtifactMissing(f"failed to load artifact {name}: key {key} does not exist in the repository")
            if path.is_dir():
                shutil.copytree(path, dest)
            else:
                shutil.copyfile(path, dest)
            return
        target, key = self._s3(location["s3"])
        try:
            self._s3_call(lambda: s3.get(target, key, dest))
        except ArtifactMissing as e:
            raise ArtifactMissing(f"artifact {name} failed to load: {e}") from None

    def _s3(self, location: Mapping[str, Any]) -> tuple[s3.S3Target, str]:
        if not location.get("bucket"):
            raise ArtifactError("S3 artifact has no bucket (and the artifact repository gives none)")
        try:
            access = self.settings.secrets.value(location.get("accessKeySecret"))
            secret = self.settings.secrets.value(location.get("secretKeySecret"))
        except SecretError as e:
            raise ArtifactError(str(e)) from None
        url = self.settings.endpoint_of(location)
        region = str(location["region"]) if location.get("region") else None
        return s3.S3Target(url, str(location["bucket"]), region, access, secret), str(location.get("key") or "")

    def _s3_call(self, call: Any) -> Any:
        try:
            return call()
        except s3.NotFound as e:
            raise ArtifactMissing(self.settings.secrets.redact(str(e))) from None
        except s3.S3Error as e:
            raise ArtifactError(self.settings.secrets.redact(str(e))) from None
