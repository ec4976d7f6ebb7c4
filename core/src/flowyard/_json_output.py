"""The ``--json`` convention every command follows, and the JSON Schemas that pin each command's shape.

One top-level object carrying ``schema_version`` (bumped when a field is removed or changes meaning;
new fields may appear at any time); durations as numbers of seconds in ``*_seconds`` fields; indented on
a terminal, compact into a pipe. The schemas ship in ``flowyard/schemas/cli/COMMAND.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

SCHEMA_VERSION = 1
COMMANDS = ("backends", "compare", "provenance", "run", "runs", "status", "submit")
_SCHEMA_OF = {"run": "run-status", "status": "run-status", "submit": "run-status"}


def versioned(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the convention's ``schema_version`` first."""
    return {"schema_version": SCHEMA_VERSION, **data}


def render(data: Any, *, indent: bool) -> bytes:
    """Fast for large runs (10,000 tasks): pydantic-core's encoder (the stdlib's indenting one is pure Python)."""
    import pydantic_core

    return pydantic_core.to_json(data, indent=2 if indent else None)


def command_schema(command: str) -> dict[str, Any]:
    """The JSON Schema of ``flowyard COMMAND --json``'s output."""
    name = _SCHEMA_OF.get(command, command)
    text = (
        resources.files("flowyard.schemas").joinpath("cli").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema
