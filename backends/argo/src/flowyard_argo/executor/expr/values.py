"""Go's view of the values an expression handles: types, ``%v`` formatting, equality, int64 wrapping.

Python stands in for Go: ``int`` is Go's ``int`` (int64, wrapping on overflow as Go does), ``float`` is float64,
``str`` a string, ``None`` nil, ``list`` ``[]interface {}``, ``dict`` ``map[string]interface {}``, ``GoTime`` a
``time.Time``.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Any

from flowyard_argo.executor.expr.errors import ExprError

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class GoTime:
    """A ``time.Time`` (``now()``): JSON-marshalled as RFC 3339 with nanoseconds, trailing zeros cut."""

    moment: datetime.datetime

    def rfc3339nano(self) -> str:
        text = self.moment.strftime("%Y-%m-%dT%H:%M:%S")
        if self.moment.microsecond:
            text += ("." + f"{self.moment.microsecond:06d}").rstrip("0")
        offset = self.moment.utcoffset()
        if not offset:
            return text + "Z"
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def wrap(value: int) -> int:
    """Go's int64 arithmetic: overflow wraps around (no error)."""
    return (value - INT_MIN) % 2**64 + INT_MIN


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def type_name(value: Any) -> str:
    """``%T`` of the value, as expr's panics print it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if is_int(value):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, GoTime):
        return "time.Time"
    return "func"


def format_float_v(value: float) -> str:
    """``fmt.Sprintf("%v", f)``: shortest digits, exponent form when the exponent is < -4 or >= 21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    digits, exponent = _shortest(value)
    if exponent < -4 or exponent >= 21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "-" if exponent < 0 else "+"
        return f"{'-' if value < 0 else ''}{mantissa}e{sign}{abs(exponent):02d}"
    text = f"{abs(value):.{max(0, len(digits) - 1 - exponent)}f}"
    return ("-" if value < 0 else "") + text


def _shortest(value: float) -> tuple[str, int]:
    """The shortest decimal digits of ``value`` and its exponent (``d.ddd x 10^exponent``)."""
    mantissa, _, exp = f"{abs(value):.17e}".partition("e")
    for precision in range(17):
        candidate = f"{abs(value):.{precision}e}"
        if float(candidate) == abs(value):
            mantissa, _, exp = candidate.partition("e")
            break
    return mantissa.replace(".", ""), int(exp)


def format_v(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` (``string()``, ``sprig.toString``, ``+`` in messages)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return format_float_v(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(format_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{format_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, GoTime):
        return value.moment.strftime("%Y-%m-%d %H:%M:%S.%f %z UTC")
    raise ExprError(f"cannot format {type_name(value)}")


def equal(a: Any, b: Any) -> bool:
    """``runtime.Equal``: numbers by value across int/float, then strings, bools, nil; else ``reflect.DeepEqual``."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return deep_equal(a, b)


def deep_equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual``: same Go type and same contents (an int never equals a float here)."""
    if type_name(a) != type_name(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return False
    return bool(a == b)


def to_int(value: Any) -> int:
    """``runtime.ToInt``: a number truncated toward zero."""
    if is_int(value):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return INT_MIN
        return wrap(int(value))
    raise ExprError(f"invalid operation: int({type_name(value)})")
