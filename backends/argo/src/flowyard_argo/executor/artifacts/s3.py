"""The S3 driver (``workflow/artifacts/s3/s3.go``) over boto3, for servers on this machine unless allowed.

Save (``saveS3Artifact``): a file is put at its key, a folder's files at ``key/<relative path>``
(``PutDirectory``/``generatePutTasks``). Load (``loadS3Artifact``): the key as a file, else, on ``NoSuchKey``, as a
folder when objects exist under ``key/`` (``IsDirectory``, ``GetDirectory``), else not found. List
(``listObjects``/``ListDirectory``): every key under ``key/`` (recursive, keys ending in ``/`` skipped), a missing
key with nothing under it not found. The endpoint is ``host:port``, ``http`` when ``insecure``, else ``https``
(``newClient``: ``Secure: !Insecure``).
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost",)


class S3Error(OSError):
    """An S3 request that failed (the message names bucket and key, never a credential)."""


class NotFound(S3Error):
    """``argoerrs.CodeNotFound``: no object at the key and none under it."""


@dataclass(frozen=True)
class S3Target:
    endpoint_url: str
    bucket: str
    region: str | None
    access_key: str | None
    secret_key: str | None


def endpoint_url(endpoint: str, insecure: bool) -> str:
    """``host:port`` as a URL (``http`` when ``insecure``); a URL given with its scheme is kept."""
    if "://" in endpoint:
        return endpoint.rstrip("/")
    return ("http://" if insecure else "https://") + endpoint.rstrip("/")


def is_local(url: str) -> bool:
    """Whether the endpoint is this machine: a loopback address, or ``localhost``."""
    host = urlsplit(url).hostname or ""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=16)
def _client(target: S3Target) -> Any:
    boto3 = _boto3()
    config = importlib.import_module("botocore.config").Config(
        retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60, s3={"addressing_style": "path"}
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=target.endpoint_url,
        region_name=target.region or "us-east-1",
        aws_access_key_id=target.access_key,
        aws_secret_access_key=target.secret_key,
        config=config,
    )


def _boto3() -> Any:
    try:
        return importlib.import_module("boto3")
    except ImportError:
        raise S3Error("S3 artifacts need boto3: pip install 'flowyard-argo[s3]'") from None


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _request(what: str, target: S3Target, key: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except Exception as e:  # botocore's errors: ClientError, EndpointConnectionError...
        if _code(e) in ("NoSuchKey", "404", "NotFound"):
            raise NotFound(f"The specified key does not exist: s3://{target.bucket}/{key}") from None
        if isinstance(e, OSError) or type(e).__module__.startswith(("boto3", "botocore", "s3transfer", "urllib3")):
            raise S3Error(f"failed to {what} s3://{target.bucket}/{key} at {target.endpoint_url}: {e}") from None
        raise


def put(target: S3Target, key: str, local: Path) -> None:
    """``saveS3Artifact``: a file at ``key``, a folder's files under it."""
    client = _client(target)
    files = [(key, local)] if local.is_file() else _folder_files(key, local)
    for object_key, path in files:
        _request("put", target, object_key, client.upload_file, str(path), target.bucket, object_key)


def _folder_files(key: str, folder: Path) -> list[tuple[str, Path]]:
    return [
        (posixpath.join(key, path.relative_to(folder).as_posix()), path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def get(target: S3Target, key: str, dest: Path) -> None:
    """``loadS3Artifact``: the object at ``key`` into ``dest``, else the folder under ``key/``."""
    client = _client(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        _request("get", target, key, client.download_file, target.bucket, key, str(dest))
        return
    except NotFound:
        pass
    keys = list_keys(target, key, missing_ok=True)
    if not keys:
        raise NotFound(f"The specified key does not exist: s3://{target.bucket}/{key}")
    prefix = _prefix(key)
    for object_key in keys:
        local = dest / object_key[len(prefix) :]
        local.parent.mkdir(parents=True, exist_ok=True)
        _request("get", target, object_key, client.download_file, target.bucket, object_key, str(local))


def _prefix(key: str) -> str:
    return posixpath.normpath(key) + "/" if key else ""


def list_keys(target: S3Target, key: str, *, missing_ok: bool = False) -> list[str]:
    """``listObjects``: the keys under ``key/``, in the server's (lexical) order."""
    client = _client(target)
    paginator = client.get_paginator("list_objects_v2")
    keys: list[str] = []
    pages = _request("list", target, key, lambda: list(paginator.paginate(Bucket=target.bucket, Prefix=_prefix(key))))
    for page in pages:
        keys += [str(o["Key"]) for o in page.get("Contents") or [] if not str(o["Key"]).endswith("/")]
    if not keys and not missing_ok and not _exists(client, target, key):
        raise NotFound(f"no key found of name {key}")
    return keys


def _exists(client: Any, target: S3Target, key: str) -> bool:
    try:
        _request("stat", target, key, client.head_object, Bucket=target.bucket, Key=key)
    except NotFound:
        return False
    return True
