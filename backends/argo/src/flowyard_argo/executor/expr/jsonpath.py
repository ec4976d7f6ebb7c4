"""``jsonpath(json, path)``: the subset of ``github.com/evilmonkeyinc/jsonpath`` v0.8.1 (the dialect all three pinned
Argo releases use, ``util/expr/env/env.go`` ``jsonPath``; ``argoproj/pkg`` ``expr/function.go`` ``JsonPath`` in
3.6) that Argo manifests use.

Selectors: ``$``, ``.key``, ``['key']``, ``[n]`` (negative from the end), and the collection selectors ``[*]``/``.*``,
``[a:b]`` and ``[?(@.k OP literal)]`` (``== != < > <= >=``, ``&&``, ``||``). A key (``token/key.go``) gives the value
itself, not a list; after a collection selector the remaining selectors apply to each element, dropping the ones
that fail, unless the next one is an index, which applies to the collected list (``token/range.go`` ``handleNext``).
JSON numbers are float64 (Go's ``json.Unmarshal`` into ``any``). Recursive descent ``..``, unions and script
selectors ``(...)`` are refused by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused

_FILTER = re.compile(r"^\?\((.*)\)$", re.S)
_CONDITION = re.compile(
    r"^\s*@((?:\.[A-Za-z0-9_$-]+|\[(?:'[^']*'|\"[^\"]*\"|-?\d+)\])*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$"
)
_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(?:'([^']*)'|\"([^\"]*)\"|(-?\d+))\]")


@dataclass(frozen=True)
class _Selector:
    kind: str  # key, index, wildcard, range, filter
    value: Any = None


def query(document: str, path: str) -> Any:
    """``jsonPath``: decode ``document`` as Go does, then apply ``path``; errors as the library's panics."""
    try:
        data = _floats(gojson.decode(document))
    except gojson.GoJSONError as e:
        raise ExprError(str(e)) from None
    selectors = _parse(path)
    return _apply(data, selectors)


def _floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


def _parse(path: str) -> list[_Selector]:
    if not path.startswith("$"):
        raise ExprError(
            f"invalid JSONPath selector '{path}' invalid token. '{path[:1]}' does not match any token format"
        )
    if ".." in path:
        raise ExprRefused("jsonpath recursive descent (..)")
    out: list[_Selector] = []
    pos = 1
    while pos < len(path):
        if path.startswith(".*", pos) or path.startswith("[*]", pos):
            out.append(_Selector("wildcard"))
            pos += 2 if path[pos] == "." else 3
        elif path[pos] == "[" and path[pos + 1 : pos + 2] == "?":
            end = _closing(path, pos)
            out.append(_Selector("filter", _condition(path[pos + 1 : end])))
            pos = end + 1
        elif path[pos] == "[" and re.match(r"\[-?\d*:-?\d*\]", path[pos:]):
            text = re.match(r"\[(-?\d*):(-?\d*)\]", path[pos:])
            assert text is not None
            out.append(_Selector("range", (text.group(1), text.group(2))))
            pos += len(text.group(0))
        else:
            step = _STEP.match(path, pos)
            if step is None:
                raise ExprRefused(f"jsonpath selector {path[pos:]!r} (unions and scripts are not supported)")
            if step.group(4) is not None:
                out.append(_Selector("index", int(step.group(4))))
            else:
                key = next(g for g in (step.group(1), step.group(2), step.group(3)) if g is not None)
                out.append(_Selector("key", key))
            pos = step.end()
    return out


def _closing(path: str, start: int) -> int:
    depth = 0
    for i in range(start, len(path)):
        if path[i] == "[":
            depth += 1
        elif path[i] == "]":
            depth -= 1
            if depth == 0:
                return i
    raise ExprError(f"invalid JSONPath selector '{path}' unexpected end of selector")


def _condition(text: str) -> list[list[tuple[list[_Selector], str, Any]]]:
    """A filter ``?(...)``: ``||`` of ``&&`` of comparisons ``@path OP literal``."""
    match = _FILTER.match(text)
    if match is None:
        raise ExprRefused(f"jsonpath filter {text!r}")
    alternatives = []
    for alternative in match.group(1).split("||"):
        terms = []
        for term in alternative.split("&&"):
            comparison = _CONDITION.match(term)
            if comparison is None:
                raise ExprRefused(f"jsonpath filter term {term.strip()!r} (only @path OP literal)")
            literal = _literal(comparison.group(3))
            terms.append((_parse("$" + comparison.group(1)), comparison.group(2), literal))
        alternatives.append(terms)
    return alternatives


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    try:
        return float(text)
    except ValueError:
        raise ExprRefused(f"jsonpath filter literal {text!r}") from None


def _apply(value: Any, selectors: list[_Selector]) -> Any:
    for i, sel in enumerate(selectors):
        if sel.kind == "key":
            if not isinstance(value, dict):
                raise ExprError(f"key: invalid token target. expected [map] got [{_kind(value)}]")
            if sel.value not in value:
                raise ExprError(f"key: invalid token key '{sel.value}' not found")
            value = value[sel.value]
        elif sel.kind == "index":
            if not isinstance(value, list):
                raise ExprError(f"index: invalid token target. expected [array slice] got [{_kind(value)}]")
            index = sel.value + len(value) if sel.value < 0 else sel.value
            if not 0 <= index < len(value):
                raise ExprError("index: invalid token out of range")
            value = value[index]
        else:
            elements = _collect(value, sel)
            rest = selectors[i + 1 :]
            if not rest or rest[0].kind == "index":
                return _apply(elements, rest) if rest else elements
            return [r for r in (_try(e, rest) for e in elements) if r is not None]
    return value


def _try(value: Any, selectors: list[_Selector]) -> Any:
    try:
        return _apply(value, selectors)
    except ExprRefused:
        raise
    except ExprError:
        return None


def _collect(value: Any, sel: _Selector) -> list[Any]:
    if isinstance(value, dict):
        members = [value[k] for k in sorted(value)]
    elif isinstance(value, list):
        members = list(value)
    else:
        raise ExprError(f"{sel.kind}: invalid token target. expected [array map slice] got [{_kind(value)}]")
    if sel.kind == "wildcard":
        return members
    if sel.kind == "range":
        start, stop = (int(x) if x else None for x in sel.value)
        return members[slice(start, stop)]
    return [m for m in members if any(all(_holds(m, t) for t in alt) for alt in sel.value)]


def _holds(member: Any, term: tuple[list[_Selector], str, Any]) -> bool:
    path, op, literal = term
    value = _try(member, path)
    if value is None:
        return False
    if op in ("==", "!="):
        same = value == literal and type(value) is type(literal)
        return same if op == "==" else not same
    if not (isinstance(value, float) and isinstance(literal, float)) and not (
        isinstance(value, str) and isinstance(literal, str)
    ):
        return False
    a: Any = value
    b: Any = literal
    return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    return {dict: "map", list: "slice", str: "string", bool: "bool", float: "float64"}.get(type(value), "invalid")
