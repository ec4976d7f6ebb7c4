"""Evaluating a parsed expression as expr-lang's VM does (``vm/vm.go``, ``vm/runtime/runtime.go``,
``vm/runtime/helpers[generated].go``, v1.17), over the environment Argo builds.

Go semantics kept: ``+ - *`` on two ints stay int64 and wrap; with a float they are float64; ``/`` is always float64
(``runtime.Divide``); ``%`` truncates toward zero and fails on zero (``integer divide by zero``); ``**``/``^`` are
float64 (``math.Pow``); ``==`` compares numbers by value and everything else with ``reflect.DeepEqual``; a map's
missing key is nil, fetching from nil fails; string indexes and ``len`` count bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowyard_argo.executor.expr import ast, functions, sprig
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused
from flowyard_argo.executor.expr.regex import matches
from flowyard_argo.executor.expr.values import (
    GoTime,
    equal,
    format_v,
    is_int,
    is_number,
    to_int,
    type_name,
    wrap,
)

_SHORT = object()  # a ?. chain cut short
CLOSURES = {"all", "none", "any", "one", "filter", "map", "count", "find", "findIndex", "findLast", "findLastIndex"}


@dataclass(frozen=True)
class SprigMap:
    """The ``sprig`` entry of the environment: only ``sprig.NAME(...)`` calls are meaningful."""


def evaluate(node: Any, env: Mapping[str, Any], *, legacy: bool = False) -> Any:
    """The value of ``node`` in ``env``; ``legacy`` is 3.6's ``asInt``/``asFloat``."""
    return _Eval(env, legacy).run(node, None)


class _Eval:
    def __init__(self, env: Mapping[str, Any], legacy: bool) -> None:
        self.env = env
        self.legacy = legacy

    def run(self, node: Any, current: Any) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Name):
            if node.name not in self.env:
                raise ExprError(f"unknown name {node.name}")
            return self.env[node.name]
        if isinstance(node, ast.Pointer):
            return current
        if isinstance(node, ast.Member):
            return self.member(node, current)
        if isinstance(node, ast.Slice):
            return self.slice(node, current)
        if isinstance(node, ast.Unary):
            return _unary(node.op, self.run(node.node, current))
        if isinstance(node, ast.Binary):
            return self.binary(node, current)
        if isinstance(node, ast.Conditional):
            cond = self.run(node.cond, current)
            if not isinstance(cond, bool):
                raise ExprError(f"non-bool expression (type {type_name(cond)}) used as condition")
            return self.run(node.then if cond else node.otherwise, current)
        if isinstance(node, ast.Call):
            return self.call(node, current)
        if isinstance(node, ast.ArrayLit):
            return [self.run(item, current) for item in node.items]
        if isinstance(node, ast.MapLit):
            return {_key(self.run(k, current)): self.run(v, current) for k, v in node.pairs}
        raise ExprRefused(f"expression part {type(node).__name__}")

    def member(self, node: ast.Member, current: Any) -> Any:
        found = self.chain(node, current)
        return None if found is _SHORT else found

    def chain(self, node: Any, current: Any) -> Any:
        """A member chain: a nil before ``?.`` makes the whole chain nil (expr's ``ChainNode``)."""
        if not isinstance(node, ast.Member):
            return self.run(node, current)
        base = self.chain(node.node, current)
        if base is _SHORT or (base is None and node.optional):
            return _SHORT
        return fetch(base, self.run(node.prop, current))

    def slice(self, node: ast.Slice, current: Any) -> Any:
        base = self.run(node.node, current)
        if isinstance(base, str):
            raw = base.encode("utf-8", "surrogatepass")
            start, stop = _bounds(node, self, current, len(raw))
            return raw[start:stop].decode("utf-8", "replace")
        if not isinstance(base, list):
            raise ExprError(f"cannot slice {type_name(base)}")
        start, stop = _bounds(node, self, current, len(base))
        return base[start:stop]

    def binary(self, node: ast.Binary, current: Any) -> Any:
        op = node.op
        if op in ("&&", "and", "||", "or"):
            left = self.run(node.left, current)
            _need_bool(left)
            if (op in ("&&", "and")) != left:
                return left
            right = self.run(node.right, current)
            _need_bool(right)
            return right
        if op == "??":
            left = self.run(node.left, current)
            return left if left is not None else self.run(node.right, current)
        return binary(op, self.run(node.left, current), self.run(node.right, current))

    def call(self, node: ast.Call, current: Any) -> Any:
        callee = node.callee
        if isinstance(callee, ast.Member):
            base = self.run(callee.node, current)
            name = callee.prop.value
            if isinstance(base, SprigMap):
                if name not in sprig.SPRIG:
                    raise ExprRefused(f"sprig.{name} (not in the supported sprig subset)")
                return sprig.call(name, [self.run(a, current) for a in node.args])
            raise ExprRefused(f"method calls ({type_name(base)}.{name})")
        name = callee.name
        if name in CLOSURES:
            return self.closure(name, node.args, current)
        if not functions.is_known(name):
            raise ExprRefused(f"the function {name}()")
        return functions.call(name, [self.run(a, current) for a in node.args], self.legacy)

    def closure(self, name: str, args: tuple[Any, ...], current: Any) -> Any:
        """``filter``/``map``/``all``/``any``/``none``/``one``/``count``/``find*`` over a list, ``#`` its element."""
        if len(args) != 2 and not (name == "count" and len(args) == 1):
            raise ExprError(f"invalid number of arguments for {name} (expected 2, got {len(args)})")
        items = self.run(args[0], current)
        if not isinstance(items, list):
            raise ExprError(f"cannot iterate over {type_name(items)}")
        body = args[1].body if len(args) == 2 else ast.Pointer("")
        results = [self.run(body, item) for item in items]
        if name == "map":
            return results
        for result in results:
            _need_bool(result)
        found = [i for i, r in enumerate(results) if r]
        tallies = {"all": len(found) == len(items), "none": not found, "any": bool(found), "one": len(found) == 1}
        if name in tallies:
            return tallies[name]
        if name == "count":
            return len(found)
        if name == "filter":
            return [items[i] for i in found]
        index = (found[-1] if found else -1) if name.startswith("findLast") else (found[0] if found else -1)
        if name.endswith("Index"):
            return index
        return items[index] if index >= 0 else None


def _bounds(node: ast.Slice, ev: _Eval, current: Any, length: int) -> tuple[int, int]:
    """``runtime.Slice``: negative bounds count from the end, clamped to the length."""
    start = to_int(ev.run(node.start, current)) if node.start is not None else 0
    stop = to_int(ev.run(node.stop, current)) if node.stop is not None else length
    start = max(0, start + length if start < 0 else start)
    stop = min(length, max(0, stop + length if stop < 0 else stop))
    return min(start, stop), stop


def _key(value: Any) -> str:
    if not isinstance(value, str):
        raise ExprRefused("map literals with non-string keys")
    return value


def _need_bool(value: Any) -> None:
    if not isinstance(value, bool):
        raise ExprError(f"interface conversion: interface {{}} is {type_name(value)}, not bool")


def fetch(base: Any, prop: Any) -> Any:
    """``runtime.Fetch``: a map's key (nil when missing), a list's or string's index (negative from the end)."""
    if isinstance(base, dict):
        return base.get(prop) if isinstance(prop, str) else None
    if isinstance(base, (list, str)):
        if not is_number(prop):
            raise ExprError(f"cannot fetch {format_v(prop)} from {type_name(base)}")
        sequence: Any = base.encode("utf-8", "surrogatepass") if isinstance(base, str) else base
        index = to_int(prop)
        length = len(sequence)
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise ExprError(f"index out of range: {index} (array length is {length})")
        return sequence[index]
    if base is None:
        raise ExprError(f"cannot fetch {format_v(prop)} from <nil>")
    raise ExprError(f"cannot fetch {format_v(prop)} from {type_name(base)}")


def _unary(op: str, value: Any) -> Any:
    if op in ("!", "not"):
        _need_bool(value)
        return not value
    if not is_number(value):
        raise ExprError(f"invalid operation: {op} {type_name(value)}")
    if op == "-":
        return wrap(-value) if is_int(value) else -value
    return value


def binary(op: str, left: Any, right: Any) -> Any:
    """A binary operator on two values, as expr's runtime helpers do it."""
    if op in ("==", "!="):
        return equal(left, right) == (op == "==")
    if op in ("<", ">", "<=", ">="):
        return _compare(op, left, right)
    if op in ("+", "-", "*"):
        return _arith(op, left, right)
    if op == "/":
        return _divide(left, right)
    if op == "%":
        return _modulo(left, right)
    if op in ("**", "^"):
        return _power(left, right)
    if op == "in":
        return _in(left, right)
    if op in ("matches", "contains", "startsWith", "endsWith"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
        if op == "matches":
            return matches(left, right)
        return {"contains": right in left, "startsWith": left.startswith(right), "endsWith": left.endswith(right)}[op]
    raise ExprRefused(f"the operator {op}")


def _compare(op: str, left: Any, right: Any) -> bool:
    pair = (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))
    if isinstance(left, GoTime) and isinstance(right, GoTime):
        left, right, pair = left.moment, right.moment, True
    if not pair:
        raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    if isinstance(left, str):
        left, right = left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass")
    return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op])


def _arith(op: str, left: Any, right: Any) -> Any:
    if is_int(left) and is_int(right):
        return wrap({"+": left + right, "-": left - right, "*": left * right}[op])
    if is_number(left) and is_number(right):
        a, b = float(left), float(right)
        return {"+": a + b, "-": a - b, "*": a * b}[op]
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    raise ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")


def _divide(left: Any, right: Any) -> float:
    if not (is_number(left) and is_number(right)):
        raise ExprError(f"invalid operation: {type_name(left)} / {type_name(right)}")
    a, b = float(left), float(right)
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(left: Any, right: Any) -> int:
    if not (is_number(left) and is_number(right)):
        raise ExprError(f"invalid operation: {type_name(left)} % {type_name(right)}")
    a, b = to_int(left), to_int(right)
    if b == 0:
        raise ExprError("runtime error: integer divide by zero")
    remainder = abs(a) % abs(b)
    return wrap(-remainder if a < 0 else remainder)


def _power(left: Any, right: Any) -> float:
    if not (is_number(left) and is_number(right)):
        raise ExprError(f"invalid operation: {type_name(left)} ** {type_name(right)}")
    try:
        return math.pow(float(left), float(right))
    except OverflowError:
        return math.inf
    except (ValueError, ZeroDivisionError):
        return math.inf if float(left) == 0 and float(right) < 0 else math.nan  # math.Pow(0, -y) is +Inf


def _in(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(equal(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        return isinstance(needle, str) and needle in haystack
    raise ExprError(f'operator "in" not defined on {type_name(haystack)}')
