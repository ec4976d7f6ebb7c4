"""Run-time parameter values: defaults, a params file, and ``--param name=value`` overrides."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flowyard._bounded_yaml import LIMITS, DocumentError, parse_yaml
from flowyard._lowering import value_matches
from flowyard.errors import ParameterError, short_json
from flowyard.ir import PipelineIR
from flowyard.spec import MAX_VALUE_DEPTH, json_value_problem

# a params file may carry a long list (the items of a fan-out): a larger file than a spec, same other bounds
PARAMS_LIMITS = dataclasses.replace(LIMITS, document_bytes=64 * 2**20)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def parse_param_text(type_: str, text: str) -> Any:
    """A command-line value: taken as it is for strings, JSON-parsed for every other type (strict
    JSON: ``NaN`` and ``Infinity`` are not numbers here)."""
    if type_ == "string":
        return text
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ParameterError(f"a value nested more than {MAX_VALUE_DEPTH} levels deep") from None
    except ValueError as e:
        if type_ == "any" and "finite" not in str(e):
            return text
        raise ParameterError(f"expected JSON for a parameter of type {type_}, got {short_json(text)}: {e}") from None


def read_params_file(path: str | Path) -> dict[str, Any]:
    """A JSON or YAML mapping of parameter names to values."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            data = json.loads(text, parse_constant=_no_constant)
        else:
            data, _ = parse_yaml(text, PARAMS_LIMITS)
    except FileNotFoundError:
        raise ParameterError(f"{p}: no such params file") from None
    except RecursionError:
        raise ParameterError(f"{p}: a value nested more than {MAX_VALUE_DEPTH} levels deep") from None
    except DocumentError as e:
        where = f"{p}:{e.line}" if e.line else str(p)
        raise ParameterError(f"{where}: {e.field + ': ' if e.field else ''}{e.problem}") from None
    except (OSError, ValueError) as e:
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
        try:
            given[name] = parse_param_text(declared[name].type, text)
        except ParameterError as e:
            raise ParameterError(f"parameter {name!r}: {e}") from None
    for name, value in given.items():
        if name not in declared:
            raise ParameterError(f"unknown parameter {name!r} (declared: {', '.join(declared) or 'none'})")
        problem = json_value_problem(value)
        if problem:
            raise ParameterError(f"parameter {name!r}: expected a JSON value: {problem}")
        if not value_matches(declared[name].type, value):
            raise ParameterError(f"parameter {name!r} is of type {declared[name].type}, got {short_json(value)}")
        result[name] = value
    missing = [n for n, p in declared.items() if p.required and n not in result]
    if missing:
        raise ParameterError(f"missing required parameter(s): {', '.join(missing)} (give --param NAME=VALUE)")
    return result
