"""Kubernetes secrets a manifest names (``accessKeySecret: {name, key}``), resolved on this machine.

A secret ``NAME``/``KEY`` is the file ``FOLDER/NAME/KEY`` of ``-O secrets=FOLDER`` (the layout a mounted secret
volume has), else the environment variable ``FLOWYARD_SECRET_<NAME>_<KEY>`` (upper case, every other character
than letters and digits as ``_``). Every value handed out is remembered so that messages can be redacted.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SecretError(LookupError):
    """A secret the manifest names that is nowhere to be found (the message names it, never a value)."""


def env_name(name: str, key: str) -> str:
    """The environment variable holding secret ``name``'s ``key``."""
    return "FLOWYARD_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", f"{name}_{key}").upper()


@dataclass
class Secrets:
    folder: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def value(self, selector: Mapping[str, Any] | None) -> str | None:
        """The value of a ``{name, key}`` secret selector (``None`` for no selector)."""
        if not selector or not selector.get("name"):
            return None
        name, key = str(selector["name"]), str(selector.get("key") or "")
        value: str | None = None
        if self.folder is not None and "/" not in name + key and ".." not in (name, key):
            path = self.folder / name / key
            if path.is_file():
                value = path.read_text().rstrip("\n")
        if value is None:
            value = self.environ.get(env_name(name, key))
        if value is None:
            where = f"{self.folder}/{name}/{key} or " if self.folder is not None else ""
            raise SecretError(f"secret {name!r} key {key!r} not found ({where}${env_name(name, key)})")
        with self._lock:
            self._seen.add(value)
        return value

    def data(self, name: str) -> dict[str, str]:
        """Every key of secret ``name`` (``envFrom``): the files of ``FOLDER/NAME``; the environment cannot list a
        secret's keys, so it stands in only for single keys (:meth:`value`)."""
        folder = self.folder / name if self.folder is not None and "/" not in name and name != ".." else None
        if folder is None or not folder.is_dir():
            raise SecretError(f"secret {name!r} not found (no folder {self.folder}/{name})")
        found = {p.name: p.read_text().rstrip("\n") for p in sorted(folder.iterdir()) if p.is_file()}
        with self._lock:
            self._seen.update(found.values())
        return found

    def known(self) -> tuple[str, ...]:
        """Every secret value handed out so far (what records mask)."""
        with self._lock:
            return tuple(v for v in self._seen if v)

    def redact(self, text: str) -> str:
        """``text`` with every secret value handed out so far replaced by ``***``."""
        with self._lock:
            values = sorted((v for v in self._seen if v), key=len, reverse=True)
        for value in values:
            text = text.replace(value, "***")
        return text
