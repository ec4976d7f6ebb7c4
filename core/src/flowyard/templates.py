"""The ``${{ ... }}`` placeholder language.

The syntax is chosen not to collide with Argo's ``{{...}}`` or KFP's ``{{$...}}``: a spec string is
passed to the engines only after each backend has rendered our placeholders into its own. ``$${{``
writes a literal ``${{``.

References:
``params.NAME`` · ``item`` · ``item.FIELD[.FIELD...]`` · ``inputs.NAME`` · ``inputs.NAME.path`` ·
``outputs.NAME.path`` · ``steps.STEP.outputs.NAME`` · ``run.status``
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flowyard.ir import (
    InputRef,
    ItemRef,
    OutputPathRef,
    ParamRef,
    Ref,
    RunStatusRef,
    StepOutputRef,
    Template,
    TemplatePart,
    Text,
)

_PLACEHOLDER = re.compile(r"\$?\$\{\{(.*?)\}\}", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_FIELD = r"[A-Za-z0-9_-]+"
_REF_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"params\.({_NAME})"), "param"),
    (re.compile(rf"item((?:\.{_FIELD})*)"), "item"),
    (re.compile(rf"inputs\.({_NAME})(\.path)?"), "input"),
    (re.compile(rf"outputs\.({_NAME})\.path"), "output_path"),
    (re.compile(rf"steps\.({_NAME})\.outputs\.({_NAME})"), "step_output"),
    (re.compile(r"run\.status"), "run_status"),
)

REFERENCE_FORMS = (
    "params.NAME, item, item.FIELD, inputs.NAME, inputs.NAME.path, outputs.NAME.path, "
    "steps.STEP.outputs.NAME, run.status"
)


class TemplateSyntaxError(ValueError):
    """A placeholder that is not one of the reference forms; the message says which forms exist."""


def parse_ref(expr: str) -> Ref:
    """Parse the inside of one placeholder (``steps.a.outputs.b``) into a reference."""
    text = expr.strip()
    for pattern, kind in _REF_PATTERNS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        if kind == "param":
            return ParamRef(name=m[1])
        if kind == "item":
            fields = tuple(f for f in m[1].split(".") if f)
            return ItemRef(fields=fields)
        if kind == "input":
            return InputRef(name=m[1], path=bool(m[2]))
        if kind == "output_path":
            return OutputPathRef(name=m[1])
        if kind == "step_output":
            return StepOutputRef(step=m[1], output=m[2])
        return RunStatusRef()
    raise TemplateSyntaxError(f"unknown reference ${{{{ {text} }}}}; expected one of {REFERENCE_FORMS}")


def _plain(segment: str) -> str:
    if "${{" in segment:
        raise TemplateSyntaxError("unclosed placeholder: '${{' without a matching '}}'")
    return segment


def parse_template(text: str) -> Template:
    """Split ``text`` into literal text and references."""
    parts: list[TemplatePart] = []
    pos = 0
    buf = ""
    for m in _PLACEHOLDER.finditer(text):
        buf += _plain(text[pos : m.start()])
        pos = m.end()
        if m.group(0).startswith("$$"):
            buf += m.group(0)[1:]  # escaped: a literal ${{...}}
            continue
        if buf:
            parts.append(Text(text=buf))
            buf = ""
        parts.append(parse_ref(m.group(1)))
    buf += _plain(text[pos:])
    if buf:
        parts.append(Text(text=buf))
    return Template(parts=tuple(parts))


def single_ref(value: Any) -> Ref | None:
    """The reference if ``value`` is exactly one placeholder and nothing else (it then keeps its type)."""
    if not isinstance(value, str):
        return None
    tpl = parse_template(value)
    if len(tpl.parts) == 1 and not isinstance(tpl.parts[0], Text):
        return tpl.parts[0]
    return None


class MissingFieldError(LookupError):
    """``item.a.b`` names a field the value does not have."""


def dig(value: Any, fields: tuple[str, ...], what: str = "item") -> Any:
    """``item.event.msg``: fields of a JSON object (digits index lists), as every engine reads them."""
    for f in fields:
        if isinstance(value, Mapping) and f in value:
            value = value[f]
        elif isinstance(value, list) and f.isdigit() and int(f) < len(value):
            value = value[int(f)]
        else:
            raise MissingFieldError(f"{what} has no field {f!r} (it is {render_value(value)[:80]})")
    return value


def render_value(value: Any) -> str:
    """How a value becomes command-line text on every engine: strings as they are, everything else as
    compact JSON with sorted keys (what Argo renders), so every engine passes the same bytes."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def ref_text(ref: Ref) -> str:
    """The reference as a user writes it, for messages and for round-tripping."""
    if isinstance(ref, ParamRef):
        return f"params.{ref.name}"
    if isinstance(ref, ItemRef):
        return ".".join(("item", *ref.fields))
    if isinstance(ref, InputRef):
        return f"inputs.{ref.name}" + (".path" if ref.path else "")
    if isinstance(ref, OutputPathRef):
        return f"outputs.{ref.name}.path"
    if isinstance(ref, StepOutputRef):
        return f"steps.{ref.step}.outputs.{ref.output}"
    return "run.status"


def template_text(template: Template) -> str:
    """Inverse of :func:`parse_template` (escaping literal ``${{``)."""
    out = []
    for part in template.parts:
        if isinstance(part, Text):
            out.append(part.text.replace("${{", "$${{"))
        else:
            out.append("${{ " + ref_text(part) + " }}")
    return "".join(out)
