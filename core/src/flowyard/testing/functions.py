"""Small step functions the canonical pipelines use: importable wherever flowyard is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(value: Any) -> Any:
    """Return the value it is given."""
    return value


def double(x: float) -> float:
    return x * 2


def total(xs: list[float]) -> float:
    return float(sum(x for x in xs if x is not None))


def write_json(value: Any, out: Path) -> None:
    """Write ``value`` as JSON to the file output ``out``."""
    out.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")


def read_json(src: Path) -> Any:
    return json.loads(src.read_text(encoding="utf-8"))


def gather_json(folder: Path, out: Path) -> int:
    """Fan-in of files: read ``<folder>/<item>/*.json`` in item order, write them as one list."""
    docs = [json.loads(f.read_text(encoding="utf-8")) for d in sorted(folder.iterdir()) for f in sorted(d.iterdir())]
    out.write_text(json.dumps(docs, sort_keys=True), encoding="utf-8")
    return len(docs)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def fail_on(value: Any, bad: Any) -> Any:
    if value == bad:
        raise RuntimeError(f"failing on purpose for {value!r}")
    return value


def sleep_then_emit(value: Any, seconds: float = 0.3) -> Any:
    """Returns ``value`` after a pause: for checking that parallelism limits hold (intervals must not overlap)."""
    import time

    time.sleep(seconds)
    return value
