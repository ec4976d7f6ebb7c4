"""Validation before anything runs: every expression of a manifest parsed, and what this executor cannot evaluate
named (a function outside the subset, a sprig function outside the subset, a refused syntax)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flowyard_argo.executor.expr import ast, functions, sprig
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused
from flowyard_argo.executor.expr.evaluate import CLOSURES
from flowyard_argo.executor.expr.parser import parse
from flowyard_argo.executor.expr.tags import children

_TAG = re.compile(r"\{\{=(.*?)\}\}", re.S)


def expression_tags(text: str) -> list[str]:
    """The expressions of the ``{{=...}}`` tags in ``text`` (as ``fasttemplate`` cuts them: to the next ``}}``)."""
    return [m.group(1) for m in _TAG.finditer(text)]


def unsupported(source: str) -> str | None:
    """Why ``source`` cannot be evaluated here (the part named), or None; syntax errors are left to run time,
    where the controller reports them."""
    try:
        tree = parse(source)
    except ExprRefused as e:
        return str(e)
    except ExprError:
        return None
    return next(_unsupported_calls(tree), None)


def _unsupported_calls(node: Any) -> Iterator[str]:
    if isinstance(node, ast.Call):
        callee = node.callee
        if isinstance(callee, ast.Name) and callee.name not in CLOSURES and not functions.is_known(callee.name):
            yield f"the function {callee.name}()"
        if isinstance(callee, ast.Member):
            if isinstance(callee.node, ast.Name) and callee.node.name == "sprig":
                if callee.prop.value not in sprig.SPRIG:
                    yield f"sprig.{callee.prop.value} (not in the supported sprig subset)"
            else:
                yield f"method calls (.{callee.prop.value}())"
    for child in children(node):
        yield from _unsupported_calls(child)
