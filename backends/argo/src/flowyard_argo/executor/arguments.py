"""Binding a template's inputs: ``ProcessArgs`` and ``SubstituteParams`` (``workflow/common/util.go``).

Input parameters take their argument, else their default, else the template cannot run. The template is then
serialised, the globals substituted, then the inputs (and the declared paths), and parsed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.artifacts.repository import has_location_or_key
from flowyard_argo.executor.context import ExecutionError
from flowyard_argo.executor.template import TemplateError, substitute_object
from flowyard_argo.executor.versions import ArgoVersion

ABSENT_OPTIONAL = "__argo-internal.absent-optional-output__"  # common.AbsentOptionalArgumentValue (v4)


def any_string(value: Any) -> str:
    """An ``AnyString`` value (a parameter's ``value``/``default``): numbers and booleans as their text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return gojson.marshal(value)
    return gojson.marshal(value)


def bind_inputs(
    template: Mapping[str, Any], arguments: Mapping[str, Any], artifacts: Mapping[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``ProcessArgs``: (input parameters with values, input artifacts with their sources)."""
    args = {p.get("name"): p for p in arguments.get("parameters") or []}
    params: list[dict[str, Any]] = []
    for declared in (template.get("inputs") or {}).get("parameters") or []:
        param = dict(declared)
        if param.get("value") is None and param.get("default") is not None:
            param["value"] = param["default"]
        arg = args.get(param["name"])
        if arg is not None and arg.get("value") == ABSENT_OPTIONAL:
            if param.get("value") is None and param.get("valueFrom") is None:
                raise ExecutionError(
                    f"inputs.parameters.{param['name']}: argument references an absent optional "
                    "(skipped/omitted node output with no default)"
                )
        elif arg is not None and arg.get("value") is not None:
            param["value"] = arg["value"]
            param.pop("valueFrom", None)
        if param.get("value") is None and param.get("valueFrom") is None:
            raise ExecutionError(f"inputs.parameters.{param['name']} was not supplied")
        if param.get("value") is not None:
            param["value"] = any_string(param["value"])
        enum = param.get("enum")
        if enum and param.get("value") not in [any_string(e) for e in enum]:
            raise ExecutionError(f"inputs.parameters.{param['name']} value {param['value']} is not in enum {enum}")
        params.append(param)
    arts: list[dict[str, Any]] = []
    for declared in (template.get("inputs") or {}).get("artifacts") or []:
        art = dict(declared)
        source = artifacts.get(art["name"])
        if not art.get("optional") and not has_location_or_key(art):
            if source is None:
                raise ExecutionError(f"inputs.artifacts.{art['name']} was not supplied")
            if not has_location_or_key(source) and not source.get("_local"):  # _local: a file this run holds
                raise ExecutionError(f"inputs.artifacts.{art['name']} missing location information")
        if source is not None:
            art = {**source, "name": art["name"], "path": declared.get("path"), "mode": declared.get("mode")}
        arts.append(art)
    return params, arts


def substitute_template(
    template: Mapping[str, Any],
    params: list[dict[str, Any]],
    arts: list[dict[str, Any]],
    globals_: Mapping[str, str | None],
    version: ArgoVersion | None = None,
) -> dict[str, Any]:
    """``SubstituteParams``: globals first (they may appear in inputs), then inputs and declared paths."""
    bound = {**template, "inputs": {**(template.get("inputs") or {}), "parameters": params, "artifacts": arts}}
    try:
        first = substitute_object(bound, globals_, allow_unresolved=True, version=version)
        values: dict[str, str | None] = dict(globals_)
        for param in first["inputs"].get("parameters") or []:
            if param.get("value") is not None:
                values[f"inputs.parameters.{param['name']}"] = any_string(param["value"])
        values["inputs.parameters"] = gojson.marshal(first["inputs"].get("parameters") or [])
        for art in first["inputs"].get("artifacts") or []:
            if art.get("path"):
                values[f"inputs.artifacts.{art['name']}.path"] = art["path"]
        outputs = first.get("outputs") or {}
        for art in outputs.get("artifacts") or []:
            if art.get("path"):
                values[f"outputs.artifacts.{art['name']}.path"] = art["path"]
        for param in outputs.get("parameters") or []:
            path = (param.get("valueFrom") or {}).get("path")
            if path:
                values[f"outputs.parameters.{param['name']}.path"] = path
        result: dict[str, Any] = substitute_object(first, values, allow_unresolved=True, version=version)
    except TemplateError as e:
        raise ExecutionError(str(e)) from None
    return result
