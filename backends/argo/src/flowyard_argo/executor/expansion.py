"""The kubelet's ``$(VAR)`` expansion of a container's ``command``, ``args`` and ``env`` values.

Kubernetes, not Argo, expands these (``third_party/forked/golang/expansion/expand.go`` ``Expand``): ``$(NAME)`` becomes
the variable's value when the container declares it, else stays as written; ``$$`` becomes ``$``, so ``$$(NAME)``
is the literal ``$(NAME)``; a ``$`` before any other character, and an unclosed ``$(``, stay. ``env`` values are
expanded in order over the variables declared before them (``envFrom`` first), and a value from a Secret or
ConfigMap is not expanded (``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``); ``command`` and ``args``
over the container's final environment (``pkg/kubelet/container/helpers.go`` ``ExpandContainerCommandAndArgs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """``Expand`` with ``MappingFuncFor``: ``lookup`` gives a declared variable's value (``None``: undeclared)."""
    out: list[str] = []
    checkpoint = cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1 :]
            if rest[0] == "$":  # escaped operator
                out.append("$")
                advance = 1
            elif rest[0] == "(" and ")" in rest:
                name = rest[1 : rest.index(")")]
                value = lookup(name)
                out.append(f"$({name})" if value is None else value)
                advance = rest.index(")") + 1
            else:  # an operator that begins no reference, or an unclosed one: kept with the next character
                out.append("$" + rest[0])
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def expand_all(texts: list[str], env: Mapping[str, str]) -> list[str]:
    """``ExpandContainerCommandAndArgs``: each string over the container's environment."""
    return [expand(t, env.get) if "$" in t else t for t in texts]
