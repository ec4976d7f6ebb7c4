"""The expression tree (``ast/node.go``): immutable nodes the evaluator walks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Pointer:
    """``#`` (the current element of a closure) or ``#name``."""

    name: str


@dataclass(frozen=True)
class Member:
    """``node.name``, ``node[expr]``, ``node?.name``."""

    node: Any
    prop: Any
    optional: bool = False


@dataclass(frozen=True)
class Slice:
    node: Any
    start: Any
    stop: Any


@dataclass(frozen=True)
class Unary:
    op: str
    node: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Conditional:
    cond: Any
    then: Any
    otherwise: Any


@dataclass(frozen=True)
class Call:
    """A call: ``callee`` is a ``Name`` (builtin or env function) or a ``Member`` (``sprig.trim``)."""

    callee: Any
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Predicate:
    """A closure ``{...}`` given to ``filter``, ``map``, ``all``, ``any``, ``count``..."""

    body: Any


@dataclass(frozen=True)
class ArrayLit:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class MapLit:
    pairs: tuple[tuple[Any, Any], ...]
