"""``{{=EXPR}}`` tags: ``util/template/expression_template.go`` (``expressionReplace`` in 3.x,
``expressionReplaceStrict``/``expressionReplaceCore`` in 4.x).

The tag's text is JSON-unescaped, parsed and evaluated over the expanded replace map; the result is
``json.Marshal``-ed and written into the surrounding JSON string: a string's marshalled text without its quotes,
anything else (numbers, booleans, lists, maps) ``strconv.Quote``-d without its quotes, so a map arrives as its
compact sorted JSON. When unresolved tags are allowed, an expression naming a late-bound variable (``item``,
``retries``, ``lastRetry.*``, ``workflow.status``, ``workflow.failures``) absent from the map, one that fails, or one
giving nil is written back unchanged for a later pass. 4.x ``ReplaceStrict`` fails one that names a missing
``steps.``/``tasks.`` identifier (``X is missing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr import ast
from flowyard_argo.executor.expr.environment import expand, has_var
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused
from flowyard_argo.executor.expr.evaluate import evaluate
from flowyard_argo.executor.expr.functions import to_json
from flowyard_argo.executor.expr.parser import parse
from flowyard_argo.executor.expr.values import GoTime

LATE_BOUND = (
    "item",
    "retries",
    "lastRetry.exitCode",
    "lastRetry.status",
    "lastRetry.duration",
    "lastRetry.message",
    "workflow.status",
    "workflow.failures",
)


class ExpressionFailed(ValueError):
    """The controller's error for an expression tag (``failed to evaluate expression: ...``)."""


def identifiers(node: Any) -> list[str]:
    """``getIdentifiers``: names and dotted member paths the expression reads, in ``ast.Walk``'s order (children
    first); member paths left of ``??``, and the receiver of a ``?.``, are guarded (not listed), names never are."""
    found: list[str] = []
    _walk(node, found, guarded=False)
    return list(dict.fromkeys(found))


def _walk(node: Any, found: list[str], guarded: bool, guard_self: bool = False) -> None:
    """``guarded``: under the left of ``??`` (every member path); ``guard_self``: the receiver of a ``?.`` only."""
    if isinstance(node, ast.Binary) and node.op == "??":
        _walk(node.left, found, True)
        _walk(node.right, found, guarded)
        return
    for child in children(node):
        receiver = isinstance(node, ast.Member) and node.optional and child is node.node
        _walk(child, found, guarded, guard_self=receiver)
    if isinstance(node, ast.Name):
        found.append(node.name)
    elif isinstance(node, ast.Member) and not (guarded or guard_self):
        path = _member_path(node)
        if path is not None:
            found.append(path)


def children(node: Any) -> list[Any]:
    if isinstance(node, (ast.Member, ast.Slice, ast.Unary)):
        return [c for c in (node.node, getattr(node, "prop", None), getattr(node, "start", None),
                            getattr(node, "stop", None)) if c is not None]  # fmt: skip
    if isinstance(node, ast.Binary):
        return [node.left, node.right]
    if isinstance(node, ast.Conditional):
        return [node.cond, node.then, node.otherwise]
    if isinstance(node, ast.Call):
        return [node.callee, *node.args]
    if isinstance(node, ast.Predicate):
        return [node.body]
    if isinstance(node, ast.ArrayLit):
        return list(node.items)
    if isinstance(node, ast.MapLit):
        return [part for pair in node.pairs for part in pair]
    return []


def _member_path(node: ast.Member) -> str | None:
    parts: list[str] = []
    current: Any = node
    while isinstance(current, ast.Member):
        if current.optional or not isinstance(current.prop, ast.Literal) or not isinstance(current.prop.value, str):
            return None
        parts.insert(0, current.prop.value)
        current = current.node
    if not isinstance(current, ast.Name):
        return None
    return ".".join([current.name, *parts])


def marshal_result(value: Any) -> str:
    """How a result is written into the JSON string around the tag."""
    if isinstance(value, GoTime):
        return value.rfc3339nano()
    marshalled = to_json(value)
    if len(marshalled) > 1 and marshalled[0] == '"' and marshalled[-1] == '"':
        return marshalled[1:-1]
    return gojson.go_quote(marshalled)[1:-1]


def replace_expression(
    text: str,
    values: Mapping[str, str | None],
    *,
    allow_unresolved: bool,
    strict_prefixes: tuple[str, ...],
    strict_v4: bool,
    legacy_functions: bool,
) -> str:
    """The replacement for the tag ``{{=text}}`` (``text`` as it stands in the JSON), or the tag itself."""
    keep = "{{=" + text + "}}"
    try:
        source = gojson.decode('"' + text + '"')
    except gojson.GoJSONError as e:
        if allow_unresolved:
            return keep
        raise ExpressionFailed(f"failed to unmarshall JSON expression: {e}") from None
    try:
        tree = parse(source)
    except ExprRefused:
        raise
    except ExprError as e:
        if allow_unresolved and not strict_prefixes:
            return keep
        raise ExpressionFailed(f"failed to evaluate expression: {e}") from None
    names = identifiers(tree)
    env = expand(values, roots={name.split(".", 1)[0] for name in names})
    missing = [i for i in names if not has_var(env, i)]
    allow = allow_unresolved
    if strict_v4:
        regex = () if allow_unresolved and not strict_prefixes else strict_prefixes or ("",)
        for name in missing:
            if any(p == "" or name == p or name.startswith(p + ".") for p in regex):
                raise ExpressionFailed(f"failed to evaluate expression: {name} is missing")
        allow = bool(missing) or not regex
    if allow and any(name in LATE_BOUND for name in missing):
        return keep
    try:
        result = evaluate(tree, env, legacy=legacy_functions)
    except ExprRefused:
        raise
    except ExprError as e:
        if allow:
            return keep
        raise ExpressionFailed(f"failed to evaluate expression: {e}") from None
    if result is None:
        if allow:
            return keep
        raise ExpressionFailed(f"failed to evaluate expression {gojson.go_quote(text)}")
    try:
        return marshal_result(result)
    except ExprError as e:
        if allow:
            return keep
        raise ExpressionFailed(f"failed to marshal evaluated expression: {e}") from None
