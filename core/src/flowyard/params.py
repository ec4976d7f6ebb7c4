"""Run-time parameter values: defaults, a params file, and ``--param name=value`` overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from flowyard.errors import ParameterError, short_json
from flowyard.ir import PipelineIR
from flowyard.lowering import value_matches


def parse_param_text(type_: str, text: str) -> Any:
    """A command-line value: taken as it is for strings, JSON-parsed for every other type."""
    if type_ == "string":
        return text
    try:
        return json.loads(text)
    except ValueError:
        if type_ == "any":
            return text
        raise ParameterError(f"expected JSON for a parameter of type {type_}, got {text!r}") from None


def read_params_file(path: str | Path) -> dict[str, Any]:
    """A JSON or YAML mapping of parameter names to values."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except FileNotFoundError:
        raise ParameterError(f"{p}: no such params file") from None
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise ParameterError(f"{p}: cannot read the params file: {e}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{p}: expected a mapping of parameter names to values")
    return data


def resolve_params(
    ir: PipelineIR,
    overrides: Iterable[str] = (),
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every parameter's value: defaults, then ``values`` (a params file or API call), then
    ``name=value`` overrides. Unknown names, missing required ones and wrong types are errors."""
    declared = {p.name: p for p in ir.parameters}
    result: dict[str, Any] = {p.name: p.default for p in ir.parameters if not p.required}
    given: dict[str, Any] = dict(values or {})
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep:
            raise ParameterError(f"expected --param NAME=VALUE, got {item!r}")
        if name not in declared:
            raise ParameterError(f"unknown parameter {name!r} (declared: {', '.join(declared) or 'none'})")
        given[name] = parse_param_text(declared[name].type, text)
    for name, value in given.items():
        if name not in declared:
            raise ParameterError(f"unknown parameter {name!r} (declared: {', '.join(declared) or 'none'})")
        if not value_matches(declared[name].type, value):
            raise ParameterError(f"parameter {name!r} is of type {declared[name].type}, got {short_json(value)}")
        result[name] = value
    missing = [n for n, p in declared.items() if p.required and n not in result]
    if missing:
        raise ParameterError(f"missing required parameter(s): {', '.join(missing)} (give --param NAME=VALUE)")
    return result
