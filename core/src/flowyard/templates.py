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
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, Protocol

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
        if m is None:
            continue
        match kind:
            case "param":
                return ParamRef(name=m[1])
            case "item":
                return ItemRef(fields=tuple(f for f in m[1].split(".") if f))
            case "input":
                return InputRef(name=m[1], path=bool(m[2]))
            case "output_path":
                return OutputPathRef(name=m[1])
            case "step_output":
                return StepOutputRef(step=m[1], output=m[2])
            case _:
                return RunStatusRef()
    shown = text if len(text) <= 80 else text[:77] + "..."  # a hostile spec's 96 KB reference stays one line
    raise TemplateSyntaxError(f"unknown reference ${{{{ {shown} }}}}; expected one of {REFERENCE_FORMS}")


_OPEN = "${{"
_CLOSE = "}}"


def _placeholders(text: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, escaped)`` of each placeholder, left to right.

    One pass: each ``find`` starts where the last one stopped, so no character is examined twice (a
    lazy ``.*?`` regex retried the rest of the string from every ``${{``: quadratic, 42 s for 96 KB).
    A placeholder runs from ``${{`` to the first ``}}`` after it; a ``$`` just before it (not part of
    the previous placeholder) escapes it. A ``${{`` with no ``}}`` after it is an error.
    """
    pos = 0
    while (start := text.find(_OPEN, pos)) >= 0:
        close = text.find(_CLOSE, start + len(_OPEN))
        if close < 0:
            raise TemplateSyntaxError("unclosed placeholder: '${{' without a matching '}}'")
        escaped = start > pos and text[start - 1] == "$"
        yield (start - 1 if escaped else start), close + len(_CLOSE), escaped
        pos = close + len(_CLOSE)


def parse_template(text: str) -> Template:
    """Split ``text`` into literal text and references."""
    parts: list[TemplatePart] = []
    pos = 0
    buf: list[str] = []
    for start, end, escaped in _placeholders(text):
        buf.append(text[pos:start])
        pos = end
        if escaped:
            buf.append(text[start + 1 : end])  # a literal ${{...}}
            continue
        if any(buf):
            parts.append(Text(text="".join(buf)))
        buf = []
        parts.append(parse_ref(text[start + len(_OPEN) : end - len(_CLOSE)]))
    buf.append(text[pos:])
    if any(buf):
        parts.append(Text(text="".join(buf)))
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
    match ref:
        case ParamRef():
            return f"params.{ref.name}"
        case ItemRef():
            return ".".join(("item", *ref.fields))
        case InputRef():
            return f"inputs.{ref.name}" + (".path" if ref.path else "")
        case OutputPathRef():
            return f"outputs.{ref.name}.path"
        case StepOutputRef():
            return f"steps.{ref.step}.outputs.{ref.output}"
        case RunStatusRef():
            return "run.status"
        case _:
            assert_never(ref)


def assert_never(value: NoReturn) -> NoReturn:
    """The ``case _`` of an exhaustive ``match``: mypy fails where a variant of the union is not handled."""
    raise AssertionError(f"unhandled variant: {value!r}")


class TemplateResolver(Protocol):
    """What each part of a template becomes on one backend: a value (local, in a step's image) or the
    engine's own placeholder (Argo, KFP). :func:`render` walks the parts; a backend says only this."""

    def text(self, text: str) -> str:
        """Literal text (a backend may refuse text its engine would read as syntax)."""
        ...

    def param(self, ref: ParamRef) -> str: ...

    def item(self, ref: ItemRef) -> str: ...

    def input(self, ref: InputRef) -> str: ...

    def output_path(self, ref: OutputPathRef) -> str: ...

    def run_status(self, ref: RunStatusRef) -> str: ...


class UnrenderableReferenceError(ValueError):
    """A reference lowering never leaves in a rendered template (``steps.S.outputs.O`` arrives as an input)."""


def render(template: Template, resolver: TemplateResolver) -> str:
    """The template as one string: each part through ``resolver``, in order."""
    out: list[str] = []
    for part in template.parts:
        match part:
            case Text():
                out.append(resolver.text(part.text))
            case ParamRef():
                out.append(resolver.param(part))
            case ItemRef():
                out.append(resolver.item(part))
            case InputRef():
                out.append(resolver.input(part))
            case OutputPathRef():
                out.append(resolver.output_path(part))
            case RunStatusRef():
                out.append(resolver.run_status(part))
            case StepOutputRef():
                raise UnrenderableReferenceError(f"${{{{ {ref_text(part)} }}}} reaches a step only through an input")
            case _:
                assert_never(part)
    return "".join(out)


def template_text(template: Template) -> str:
    """Inverse of :func:`parse_template` (escaping literal ``${{``)."""
    out = []
    for part in template.parts:
        if isinstance(part, Text):
            out.append(part.text.replace("${{", "$${{"))
        else:
            out.append("${{ " + ref_text(part) + " }}")
    return "".join(out)
