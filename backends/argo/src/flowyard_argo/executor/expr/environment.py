"""The environment an expression sees: ``util/expand/expand.go`` ``Expand`` (``removeConflicts`` then
``bellows.Expand``) of the flat replace map, plus Argo's functions (``util/expr/env/env.go`` ``GetFuncMap``).

``inputs.parameters.x`` becomes ``{"inputs": {"parameters": {"x": ...}}}``; every leaf is a string (or nil for a
v4 absent optional). ``removeConflicts`` drops a key only when the next key in sorted order is one of its
children (``inputs.parameters`` goes, its JSON list hidden by ``inputs.parameters.x``); a conflict it leaves is
settled here for the children (the map wins).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from flowyard_argo.executor.expr.evaluate import SprigMap

ENV_FUNCTIONS = ("asInt", "asFloat", "jsonpath", "toJson", "sprig")


def remove_conflicts(values: Mapping[str, Any]) -> dict[str, Any]:
    """``removeConflicts``: a key whose sorted successor starts with ``key.`` is dropped."""
    keys = sorted(values)
    kept = dict(values)
    for key, following in itertools.pairwise(keys):
        if following.startswith(key + "."):
            kept.pop(key, None)
    return kept


def expand(values: Mapping[str, Any], roots: Iterable[str] | None = None) -> dict[str, Any]:
    """``Expand``: dotted keys become nested maps; Argo's functions are added (``GetFuncMap``). With ``roots``
    (the names an expression reads), only those top-level entries are built: nothing else can be reached."""
    if roots is not None:
        wanted = set(roots)
        values = {k: v for k, v in values.items() if k.split(".", 1)[0] in wanted}
    env: dict[str, Any] = {}
    for key in sorted(remove_conflicts(values), key=lambda k: k.count(".")):
        parts = key.split(".")
        node = env
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = values[key]
    for name in ENV_FUNCTIONS:
        env[name] = SprigMap() if name == "sprig" else _Function(name)
    return env


class _Function:
    """An entry of the env that is a function (``asInt``...): present for ``hasVarInEnv``, called by name."""

    def __init__(self, name: str) -> None:
        self.name = name


def has_var(env: Mapping[str, Any], path: str) -> bool:
    """``hasVarInEnv``: the dotted ``path`` leads through maps to a present key (a nil leaf counts)."""
    node: Any = env
    for part in path.split("."):
        if isinstance(node, SprigMap):
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
