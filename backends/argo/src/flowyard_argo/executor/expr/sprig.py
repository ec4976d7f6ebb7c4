"""The ``sprig.*`` functions an expression may call: a named subset of ``Masterminds/sprig`` v3.3.0 (all three pinned
Argo releases), each written from ``functions.go`` ``genericMap`` and the file it points to. Sprig's string
functions take the subject last (``sprig.replace(old, new, subject)``, ``sprig.trimPrefix(prefix, subject)``).
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.expr.functions import GO_SPACE, base64_decode, go_lower, go_replace_all, go_upper, to_json
from flowyard_argo.executor.expr.values import GoTime, format_v, is_int, is_number, to_int, type_name, wrap

# Go reference-time layout elements (time/format.go nextStdChunk), longest first, as strftime pieces or callables
_LAYOUT: list[tuple[str, Callable[[datetime.datetime], str]]] = [
    ("January", lambda t: t.strftime("%B")),
    ("Monday", lambda t: t.strftime("%A")),
    ("2006", lambda t: f"{t.year:04d}"),
    ("Z07:00", lambda t: "Z" if not t.utcoffset() else t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]),
    ("-07:00", lambda t: t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]),
    ("-0700", lambda t: t.strftime("%z")),
    ("Jan", lambda t: t.strftime("%b")),
    ("Mon", lambda t: t.strftime("%a")),
    ("MST", lambda t: t.tzname() or "UTC"),
    (".000", lambda t: f".{t.microsecond // 1000:03d}"),
    ("01", lambda t: f"{t.month:02d}"),
    ("02", lambda t: f"{t.day:02d}"),
    ("_2", lambda t: f"{t.day:2d}"),
    ("15", lambda t: f"{t.hour:02d}"),
    ("03", lambda t: f"{(t.hour % 12) or 12:02d}"),
    ("04", lambda t: f"{t.minute:02d}"),
    ("05", lambda t: f"{t.second:02d}"),
    ("06", lambda t: f"{t.year % 100:02d}"),
    ("PM", lambda t: "PM" if t.hour >= 12 else "AM"),
    ("pm", lambda t: "pm" if t.hour >= 12 else "am"),
    ("1", lambda t: str(t.month)),
    ("2", lambda t: str(t.day)),
    ("3", lambda t: str((t.hour % 12) or 12)),
    ("4", lambda t: str(t.minute)),
    ("5", lambda t: str(t.second)),
]


def go_time_format(layout: str, moment: datetime.datetime) -> str:
    """``time.Time.Format``: the layout's reference-time elements replaced, everything else kept."""
    out: list[str] = []
    pos = 0
    while pos < len(layout):
        for element, render in _LAYOUT:
            if layout.startswith(element, pos):
                out.append(render(moment))
                pos += len(element)
                break
        else:
            out.append(layout[pos])
            pos += 1
    return "".join(out)


def _date(layout: str, value: Any) -> str:
    """``date``/``dateInZone``: a time, or Unix seconds as an int; anything else (a string) means now."""
    if isinstance(value, GoTime):
        moment = value.moment
    elif is_int(value):
        moment = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    else:
        moment = datetime.datetime.now(tz=datetime.timezone.utc)
    return go_time_format(layout, moment)


def strval(value: Any) -> str:
    """``strval``: a string as is, anything else ``%v``."""
    return value if isinstance(value, str) else format_v(value)


def _empty(value: Any) -> bool:
    """``empty``: nil, false, zero, and empty strings, lists and maps."""
    if value is None or value is False:
        return True
    if is_number(value):
        return bool(value == 0)
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return False


def _default(fallback: Any, *given: Any) -> Any:
    return fallback if not given or _empty(given[0]) else given[0]


def _to_int64(value: Any) -> int:
    """``cast.ToInt64``: numbers truncated, strings parsed (base prefixes, ``.0`` trimmed), 0 on failure."""
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return to_int(value)
    if isinstance(value, str):
        text = re.sub(r"\.0*$", "", value) if re.fullmatch(r"[+-]?[0-9]+\.0*", value) else value
        try:
            return int(text, 0) if re.fullmatch(r"[+-]?(0[xXoObB])?[0-9a-fA-F_]+", text) else 0
        except ValueError:
            return 0
    return 0


def _to_float64(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", value) else 0.0
        except ValueError:
            return 0.0
    return 0.0


def _join(glue: str, values: Any) -> str:
    items = values if isinstance(values, list) else [values]
    return glue.join(strval(v) for v in items if v is not None)


def _s(value: Any) -> str:
    if not isinstance(value, str):
        raise ExprError(f"reflect: Call using {type_name(value)} as type string")
    return value


SPRIG: dict[str, Callable[..., Any]] = {
    "trim": lambda s: _s(s).strip(GO_SPACE),
    "upper": lambda s: go_upper(_s(s)),
    "lower": lambda s: go_lower(_s(s)),
    "trimAll": lambda cut, s: _s(s).strip(_s(cut)),
    "trimPrefix": lambda p, s: _s(s).removeprefix(_s(p)),
    "trimSuffix": lambda p, s: _s(s).removesuffix(_s(p)),
    "contains": lambda sub, s: _s(sub) in _s(s),
    "hasPrefix": lambda p, s: _s(s).startswith(_s(p)),
    "hasSuffix": lambda p, s: _s(s).endswith(_s(p)),
    "replace": lambda old, new, s: go_replace_all(_s(s), _s(old), _s(new)),
    "splitList": lambda sep, s: list(_s(s)) if _s(sep) == "" else _s(s).split(sep),
    "join": _join,
    "toString": strval,
    "quote": lambda *xs: " ".join(gojson.go_quote(strval(x)) for x in xs if x is not None),
    "squote": lambda *xs: " ".join(f"'{strval(x)}'" for x in xs if x is not None),
    "atoi": lambda s: int(_s(s)) if re.fullmatch(r"[+-]?[0-9]+", _s(s)) else 0,
    "int": _to_int64,
    "int64": _to_int64,
    "float64": _to_float64,
    "default": _default,
    "empty": _empty,
    "toJson": to_json,
    "b64enc": lambda s: base64.b64encode(_s(s).encode()).decode(),
    "b64dec": lambda s: base64_decode(_s(s)),
    "date": lambda layout, value: _date(_s(layout), value),
    "add": lambda *xs: _wrap_sum(_to_int64(x) for x in xs),
    "sub": lambda a, b: _wrap_sum((_to_int64(a), -_to_int64(b))),
    "min": lambda first, *xs: min((_to_int64(first), *(_to_int64(x) for x in xs))),
    "max": lambda first, *xs: max((_to_int64(first), *(_to_int64(x) for x in xs))),
}


def _wrap_sum(numbers: Any) -> int:
    return wrap(sum(numbers))


def call(name: str, args: list[Any]) -> Any:
    """``sprig.NAME(args...)``."""
    try:
        return SPRIG[name](*args)
    except TypeError:
        raise ExprError(f"invalid number of arguments for sprig.{name} (got {len(args)})") from None
