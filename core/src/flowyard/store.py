"""The artifact store: one small interface over fsspec, for a local folder or S3-compatible storage.

Keys are ``/``-separated paths under the store's root. Local writes are atomic (write, fsync,
rename). Any failure to reach the store is an :class:`InfrastructureError` (exit code 3).
A local store works on the disk directly (fsspec is imported only for remote stores, keeping
start-up fast); both kinds behave the same through this interface.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowyard.errors import InfrastructureError
from flowyard.ir import LocalStoreIR, S3StoreIR, SecretRefIR, StoreIR
from flowyard.runs import write_atomic

log: logging.Logger = logging.getLogger(__name__)

S3_ENDPOINT_ENV = "FLOWYARD_S3_ENDPOINT_URL"


class ArtifactStore:
    """Put, get and list artifacts under ``root`` of an fsspec filesystem."""

    def __init__(self, fs: Any, root: str, *, protocol: str = "file") -> None:
        self.fs = fs
        self.root: str = root.rstrip("/")
        self.protocol = protocol

    def path(self, key: str) -> str:
        key = key.strip("/")
        parts = key.split("/")
        if ".." in parts or "" in parts:
            raise ValueError(f"artifact key {key!r} leaves the store")
        return f"{self.root}/{key}"

    def uri(self, key: str) -> str:
        p = self.path(key)
        return p if self.protocol == "file" else f"{self.protocol}://{p}"

    @contextmanager
    def _guard(self, action: str, key: str) -> Iterator[None]:
        log.debug("store %s: %s %r", self.protocol, action, key)
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise
        except InfrastructureError:
            raise
        except Exception as e:  # network, credentials, permissions: the store is not usable
            where = (
                self.uri(key) if key else (self.root if self.protocol == "file" else f"{self.protocol}://{self.root}")
            )
            raise InfrastructureError(
                f"artifact store unavailable: could not {action} {where}: {type(e).__name__}: {e}"
            ) from e

    @property
    def is_local(self) -> bool:
        return self.protocol == "file"

    def put_file(self, local: Path, key: str) -> str:
        with self._guard("write", key):
            if self.is_local:
                write_atomic(Path(self.path(key)), local.read_bytes())
            else:
                self.fs.put_file(str(local), self.path(key))
        return self.uri(key)

    def put_bytes(self, data: bytes, key: str) -> str:
        with self._guard("write", key):
            if self.is_local:
                write_atomic(Path(self.path(key)), data)
            else:
                self.fs.pipe_file(self.path(key), data)
        return self.uri(key)

    def get_file(self, key: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        with self._guard("read", key):
            if self.is_local:
                shutil.copyfile(self.path(key), local)
            else:
                self.fs.get_file(self.path(key), str(local))

    def read_bytes(self, key: str) -> bytes:
        with self._guard("read", key):
            if self.is_local:
                return Path(self.path(key)).read_bytes()
            data: bytes = self.fs.cat_file(self.path(key))
            return data

    def exists(self, key: str) -> bool:
        with self._guard("look up", key):
            if self.is_local:
                return Path(self.path(key)).exists()
            return bool(self.fs.exists(self.path(key)))

    def list_files(self, prefix: str) -> list[str]:
        """Keys of every file under ``prefix``, sorted."""
        base = self.path(prefix)
        if self.is_local:
            top = Path(self.root)
            return sorted(p.relative_to(top).as_posix() for p in Path(base).rglob("*") if p.is_file())
        with self._guard("list", prefix):
            try:
                found = self.fs.find(base)
            except FileNotFoundError:
                return []
        root = self.root.lstrip("/")
        return sorted(p.lstrip("/")[len(root) :].lstrip("/") for p in found)

    def check(self) -> None:
        """Fail early (exit code 3) when the store cannot be reached."""
        with self._guard("reach", ""):
            if self.is_local:
                Path(self.root).mkdir(parents=True, exist_ok=True)
            else:
                self.fs.ls(self.root.split("/")[0])


def secret_value(ref: SecretRefIR | None, environ: Mapping[str, str]) -> str | None:
    """Locally a secret is the host's environment variable ``ref.env``."""
    if ref is None:
        return None
    return environ.get(ref.env)


def open_store(
    store: StoreIR,
    *,
    local_root: Path,
    environ: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
) -> ArtifactStore:
    """The store a pipeline declares. ``local_root`` is used when a local store sets no path;
    ``endpoint_url`` (or ``$FLOWYARD_S3_ENDPOINT_URL``) overrides an S3 endpoint."""
    env = os.environ if environ is None else environ
    if isinstance(store, LocalStoreIR):
        local = Path(store.path).resolve() if store.path else local_root.resolve()
        return ArtifactStore(None, str(local), protocol="file")
    assert isinstance(store, S3StoreIR)
    try:
        import s3fs  # noqa: F401
    except ImportError:
        raise InfrastructureError(
            "the pipeline's store is S3 but s3fs is not installed: pip install 'flowyard-core[s3]'"
        ) from None
    endpoint = endpoint_url or env.get(S3_ENDPOINT_ENV) or store.endpoint
    if endpoint and "://" not in endpoint:
        endpoint = ("http://" if store.insecure else "https://") + endpoint
    client_kwargs: dict[str, Any] = {}
    if endpoint:
        client_kwargs["endpoint_url"] = endpoint
    if store.region:
        client_kwargs["region_name"] = store.region
    key, secret = secret_value(store.access_key, env), secret_value(store.secret_key, env)
    import fsspec

    fs = fsspec.filesystem(
        "s3",
        key=key,
        secret=secret,
        anon=False,
        client_kwargs=client_kwargs,
        skip_instance_cache=True,
        use_listings_cache=False,
        config_kwargs={"retries": {"max_attempts": 2}, "connect_timeout": 5, "read_timeout": 30},
    )
    root = "/".join(p for p in (store.bucket, store.prefix) if p)
    return ArtifactStore(fs, root, protocol="s3")
