"""Tag substitution as ``util/template`` does it: over the JSON text of a template, step or task.

``fasttemplate`` finds ``{{`` ... ``}}``; a simple tag is looked up (trimmed) in the replace map and its value written
``strconv.Quote``-d without the outer quotes, so it lands inside a JSON string and is parsed back with Go's decoder.
Characters ``strconv.Quote`` writes in Go-only syntax (``\\a``, ``\\v``, ``\\x1b``, ``\\x7f``, ``\\U0001...``) make the
result invalid JSON: that is the controller's error, reproduced here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr.errors import ExprRefused
from flowyard_argo.executor.expr.tags import ExpressionFailed, replace_expression
from flowyard_argo.executor.versions import ArgoVersion, argo_version

START, END = "{{", "}}"
ExpressionHook = Callable[[str], str]


class TemplateError(ValueError):
    """Substitution failed the way the controller's would (message as the controller words it)."""


def replace_tags(
    text: str,
    values: Mapping[str, str | None],
    *,
    allow_unresolved: bool,
    strict_prefixes: tuple[str, ...] = (),
    version: ArgoVersion | None = None,
    expression: ExpressionHook | None = None,
) -> str:
    """``impl.replace``: every ``{{tag}}`` of ``text`` replaced; unknown tags kept or refused.

    A tag is refused when ``allow_unresolved`` is false, or when it starts with one of ``strict_prefixes`` (the
    ``ReplaceStrict`` form) and is not an output artifact. ``{{=...}}`` tags are expressions (:mod:`.expr.tags`),
    evaluated by the rules of ``version`` (the newest when not given), or by ``expression`` when given (a
    stand-in that a test models the controller with).
    """
    out: list[str] = []
    pos = 0
    while True:
        start = text.find(START, pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        end = text.find(END, start + len(START))
        if end < 0:
            raise TemplateError(
                f"unable to parse argo variable: Cannot find end tag={END!r} in the template={text!r} "
                f"starting from {text[start:]!r}"
            )
        out.append(text[pos:start])
        tag = text[start + len(START) : end]
        if tag.startswith("=") and expression is not None:
            out.append(expression(gojson.fix_html(tag[1:])))
        elif tag.startswith("="):
            out.append(_expression(gojson.fix_html(tag[1:]), values, allow_unresolved, strict_prefixes, version))
        else:
            out.append(_simple(tag, values, allow_unresolved, strict_prefixes))
        pos = end + len(END)


def _expression(
    text: str, values: Mapping[str, str | None], allow: bool, strict: tuple[str, ...], version: ArgoVersion | None
) -> str:
    release = version or argo_version(None)
    try:
        return replace_expression(
            text,
            values,
            allow_unresolved=allow,
            strict_prefixes=strict,
            strict_v4=release.strict_references,
            legacy_functions=release.pkg_expr_functions,
        )
    except ExpressionFailed as e:
        raise TemplateError(str(e)) from None
    except ExprRefused as e:
        raise TemplateError(f"expression {{{{={text}}}}}: {e} is not supported by this executor") from None


def _quoted_inner(value: str) -> str:
    return gojson.go_quote(value)[1:-1]


def _simple(tag: str, values: Mapping[str, str | None], allow_unresolved: bool, strict: tuple[str, ...]) -> str:
    key = tag.strip()
    if key not in values:
        index = tag.rfind(START)
        if index > 0:
            nested = values.get(tag[index + 2 :], 0)
            if nested is None:
                inner = tag[index + 2 :]
                raise TemplateError(f"unable to substitute nested tag {{{{{tag}}}}}: {inner!r} is an absent optional")
            if isinstance(nested, str):
                return START + tag[:index] + _quoted_inner(nested)
        is_strict = any(key == p or key.startswith(p + ".") for p in strict)
        if (not allow_unresolved and not strict) or (is_strict and ".outputs.artifacts." not in key):
            raise TemplateError(f"failed to resolve {{{{{tag}}}}}")
        return START + tag + END
    value = values[key]
    if value is None:
        raise TemplateError(
            f"unable to substitute {{{{{tag}}}}}: output is an absent optional (skipped/omitted node with no default)"
        )
    return _quoted_inner(value)


def replace_json(text: str, values: Mapping[str, str | None], *, allow_unresolved: bool, **kw: Any) -> str:
    """``template.Replace``: the input and the result must both be valid JSON."""
    if not gojson.is_valid(text):
        raise TemplateError("cannot do template replacements with invalid JSON")
    result = replace_tags(text, values, allow_unresolved=allow_unresolved, **kw)
    if not gojson.is_valid(result):
        raise TemplateError("cannot finish template replacement because the result was invalid JSON")
    return result


def substitute_object(obj: Any, values: Mapping[str, str | None], *, allow_unresolved: bool, **kw: Any) -> Any:
    """Serialise ``obj`` as the controller does, replace tags, parse it back (``SubstituteParams``' core step)."""
    return json.loads(replace_json(gojson.marshal(obj), values, allow_unresolved=allow_unresolved, **kw))


def unmarshal_after_replace(text: str) -> Any:
    """``json.Unmarshal`` of a replaced text with no prior validity check (``processItem``), Go's message on failure."""
    try:
        return gojson.decode(text)
    except gojson.GoJSONError as e:
        raise TemplateError(str(e)) from None
