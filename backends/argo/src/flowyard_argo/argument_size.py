"""Which parameters a pod receives as one argv or environment string, where Linux's ``MAX_ARG_STRLEN`` (131,072
bytes for one string, ``execve(2)``) decides whether it can start at all.

A container step's command and any step's ``env`` hold a parameter's value inline (the controller substitutes it
into the container spec); a Python-function step reads its value inputs from files (``--value-file``), and a
fan-out reads its list from a file, so a larger parameter reaches those as locally. Only the first kind is refused
by name, before anything runs: on a cluster, as locally, the pod's program could not be started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flowyard.ir import InputRef, ParamRef, ParamSource, PipelineIR, StepIR, Template, TemplateSource
from flowyard.templates import render_value

from flowyard_argo.names import ARGV_STRING_LIMIT


def parameters_in_argv(ir: PipelineIR) -> dict[str, str]:
    """Parameter name -> the first step whose command or environment holds its value inline."""
    found: dict[str, str] = {}
    for step in ir.all_steps:
        for name in _inline_parameters(step):
            found.setdefault(name, step.name)
    return found


def _inline_parameters(step: StepIR) -> set[str]:
    templates: list[Template] = [t for _, t in step.env]
    if step.container is not None:
        templates += step.container.command
    names = _params(templates)
    inputs = {i.name: i for i in step.inputs}
    for t in templates:
        for part in t.parts:
            inp = inputs.get(part.name) if isinstance(part, InputRef) and not part.path else None
            if inp is not None and isinstance(inp.source, ParamSource):
                names.add(inp.source.name)
            elif inp is not None and isinstance(inp.source, TemplateSource):
                names |= _params([inp.source.template])
    return names


def _params(templates: Iterable[Template]) -> set[str]:
    return {p.name for t in templates for p in t.parts if isinstance(p, ParamRef)}


def oversized_parameter(ir: PipelineIR, values: Mapping[str, Any], what: str) -> str | None:
    """Why a parameter's value (given, else its default) cannot reach the step that holds it inline; ``None`` when
    every one fits. ``what``: how the value came ("its default", "the value given")."""
    sizes = {p.name: len(render_value(values.get(p.name, p.default)).encode()) for p in ir.parameters}
    if all(size <= ARGV_STRING_LIMIT for size in sizes.values()):
        return None  # the common case: no step need be looked at
    for name, step in parameters_in_argv(ir).items():
        size = sizes[name]
        if size > ARGV_STRING_LIMIT:
            return (
                f"parameter {name!r}: {what} is {size:,} bytes, and step {step!r} holds it in its command or "
                f"environment, one string of which may be at most {ARGV_STRING_LIMIT:,} bytes (Linux's "
                "MAX_ARG_STRLEN): its pod could not start. Pass it as a file input, or read it in a Python-function "
                "step (which gets its values from files)"
            )
    return None
