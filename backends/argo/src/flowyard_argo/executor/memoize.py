"""``memoize``: a template's outputs kept under its key in a local cache named as its ConfigMap.

The controller keeps each cache in the ConfigMap ``memoize.cache.configMap.name``, one entry per key
(``workflow/controller/cache/cache.go`` ``Entry``: ``nodeID``, ``outputs``, ``creationTimestamp``,
``lastHitTimestamp``). Here that ConfigMap is ``<runs folder>/.argo-memoize/<namespace>/<name>.json`` (shared by
the runs of one runs folder), read and written under ``flock(2)``. Before a memoized template runs, its key is
looked up (``operator.go`` ``executeTemplate``): an entry younger than ``maxAge`` (any age without one) is a hit:
the node ends Succeeded with the entry's outputs and ``memoizationStatus: {hit: true, key, cacheName}``, nothing
runs. A miss runs the template and, when it succeeds, saves its outputs (``configmap_cache.go`` ``save``, which
refuses a key outside ``^[a-zA-Z0-9][-a-zA-Z0-9]*$`` with ``invalid cache key: KEY``, erroring the node).
"""

from __future__ import annotations

import calendar
import fcntl
import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard_argo.executor.context import ExecutionError
from flowyard_argo.executor.retry import parse_duration

KEY = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Memo:
    """A resolved ``memoize`` block: where its cache is and what it looks up."""

    key: str
    cache: str
    max_age: float | None
    file: Path

    def status(self, hit: bool) -> dict[str, Any]:
        """The node's ``memoizationStatus``."""
        return {"hit": hit, "key": self.key, "cacheName": self.cache}


def memo_of(template: Mapping[str, Any], runs: Path, namespace: str) -> Memo | None:
    """The resolved template's ``memoize`` block (its key already substituted), or ``None``."""
    block = template.get("memoize")
    if not isinstance(block, Mapping):
        return None
    cache = str(((block.get("cache") or {}).get("configMap") or {}).get("name") or "")
    if not cache:
        raise ExecutionError("cache could not be found or created")
    age = block.get("maxAge")
    max_age = None
    if age not in (None, ""):
        text = str(age).strip()
        if re.fullmatch(r"[+-]?\d+(\.\d+)?", text) and float(text) != 0:
            raise ExecutionError(f'invalid maxAge: time: missing unit in duration "{text}"')
        try:
            max_age = parse_duration(text)
        except ExecutionError as e:
            raise ExecutionError(f"invalid maxAge: {e}") from None
    file = runs / ".argo-memoize" / _safe(namespace) / f"{_safe(cache)}.json"
    return Memo(str(block.get("key") or ""), cache, max_age, file)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


@contextmanager
def _cache(memo: Memo) -> Iterator[dict[str, Any]]:
    """The cache's entries, locked for the block; written back after it."""
    memo.file.parent.mkdir(parents=True, exist_ok=True)
    with open(memo.file, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read()
        try:
            entries: dict[str, Any] = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            raise ExecutionError(f"memoization cache {memo.file} is not JSON: remove it to start it afresh") from None
        if not isinstance(entries, dict):
            raise ExecutionError(f"memoization cache {memo.file} is not a JSON object: remove it to start it afresh")
        before = json.dumps(entries, sort_keys=True)
        yield entries
        if json.dumps(entries, sort_keys=True) != before:
            f.seek(0)
            f.truncate()
            f.write(json.dumps(entries, indent=1, sort_keys=True))


def lookup(memo: Memo) -> dict[str, Any] | None:
    """The outputs of a live entry for the key (a hit), else ``None``; a hit's ``lastHitTimestamp`` is updated."""
    with _cache(memo) as entries:
        entry = entries.get(memo.key)
        if not isinstance(entry, dict) or not entry.get("nodeID"):
            return None
        try:
            created = calendar.timegm(time.strptime(str(entry.get("creationTimestamp")), STAMP))
        except ValueError:
            return None  # an entry with no readable age is no hit
        if memo.max_age is not None and time.time() - created > memo.max_age:
            return None  # expired: GetOutputsWithMaxAge
        entry["lastHitTimestamp"] = time.strftime(STAMP, time.gmtime())
        outputs = entry.get("outputs")
        return dict(outputs) if isinstance(outputs, dict) else {}


def save(memo: Memo, node_id: str, outputs: Mapping[str, Any]) -> None:
    """Keep a succeeded node's outputs under the key (``configMapCache.save``)."""
    if not KEY.match(memo.key):
        raise ExecutionError(f"invalid cache key: {memo.key}")
    now = time.strftime(STAMP, time.gmtime())
    with _cache(memo) as entries:
        entries[memo.key] = {
            "nodeID": node_id,
            "outputs": dict(outputs),
            "creationTimestamp": now,
            "lastHitTimestamp": now,
        }
