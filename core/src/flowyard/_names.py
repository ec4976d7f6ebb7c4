"""Names as Kubernetes wants them, sanitised once in lowering so that no backend swaps characters twice."""

from __future__ import annotations

import re

DNS1123_MAX = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NOT_IN_IDENTIFIER = re.compile(r"[^A-Za-z0-9_-]")


def identifier_problem(name: str, what: str = "a name") -> str | None:
    """Why ``name`` is not an identifier (None when it is): the rule, and what in the name breaks it."""
    if IDENTIFIER.match(name):
        return None
    rule = f"expected {what} that starts with a letter or '_' and goes on with letters, digits, '_' and '-'"
    if not name:
        return f"{rule}: it is empty"
    bad = _NOT_IN_IDENTIFIER.search(name)
    if bad is not None:
        return f"{rule}: {name!r} has {bad.group()!r}"
    return f"{rule}: {name!r} starts with {name[0]!r}"


def dns1123_label(name: str, max_length: int = DNS1123_MAX) -> str:
    """``Activator_Step.v2`` -> ``activator-step-v2``: lower case, ``[a-z0-9-]``, alphanumeric at both ends."""
    label = _INVALID.sub("-", name.lower())
    label = _DASHES.sub("-", label).strip("-")
    label = label[:max_length].rstrip("-")
    if not label:
        raise ValueError(f"{name!r} has no letters or digits to make a DNS-1123 name from")
    return label
