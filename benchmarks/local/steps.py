"""The seed's apps as Python functions (for the in-process benchmark), and a no-op."""

from __future__ import annotations

import json
from pathlib import Path


def noop(x: object) -> None:
    return None


def activator(event: dict, out: Path) -> None:
    print(json.dumps(event, sort_keys=True))
    out.write_text(json.dumps(event, sort_keys=True), encoding="utf-8")


def processor(event: Path, out: Path) -> None:
    doc = json.loads(event.read_text(encoding="utf-8"))
    print(json.dumps(doc, sort_keys=True))
    out.write_text(json.dumps({**doc, "processed": True}, sort_keys=True), encoding="utf-8")
