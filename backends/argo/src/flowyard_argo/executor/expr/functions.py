"""The functions an expression may call: expr-lang's builtins (``builtin/builtin.go``, ``builtin/lib.go``), the ones
Argo adds (``util/expr/env/env.go`` ``GetFuncMap``: ``asInt``, ``asFloat``, ``jsonpath``, ``toJson``, and in 3.6
``argoproj/pkg`` ``expr/function.go``'s ``asInt``/``asFloat``/``string``) and a named subset of ``sprig.*``
(``Masterminds/sprig`` v3.3.0 ``functions.go`` ``genericMap``). Any other name is refused by name.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr import jsonpath
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.expr.values import GoTime, format_v, is_int, is_number, to_int, type_name

GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501
_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.I)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ExprError(f"reflect: Call using {type_name(value)} as type string ({name})")
    return value


def parse_go_int(text: str, message: str) -> int:
    """``strconv.Atoi``/``ParseInt(s, 10, 64)``: optional sign and digits only, within int64."""
    if not _GO_INT.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise ExprError(message)
    return int(text)


def parse_go_float(text: str, message: str) -> float:
    """``strconv.ParseFloat(s, 64)`` for decimal forms, ``inf`` and ``nan`` (no spaces, no underscores)."""
    if not _GO_FLOAT.fullmatch(text):
        raise ExprError(message)
    return float(text)


def as_int(value: Any, legacy: bool) -> int:
    """``asInt``: 3.6 ``argoproj/pkg`` ``AsInt`` (``ParseInt``), 3.7+ expr's ``builtin.Int`` (``Atoi``)."""
    if isinstance(value, str):
        why = f'strconv.ParseInt: parsing "{value}": invalid syntax' if legacy else f"invalid operation: int({value})"
        return parse_go_int(value, why)
    if is_number(value):
        return to_int(value)
    raise ExprError(f"asInt() not supported on {type_name(value)} {format_v(value)}" if legacy else
                    f"invalid operation: int({type_name(value)})")  # fmt: skip


def as_float(value: Any, legacy: bool) -> float:
    """``asFloat``: 3.6 ``AsFloat``, 3.7+ ``builtin.Float`` (``ParseFloat`` of a string)."""
    if isinstance(value, str):
        why = f'strconv.ParseFloat: parsing "{value}": invalid syntax' if legacy else ""
        why = why or f"invalid operation: float({value})"
        return parse_go_float(value, why)
    if is_number(value):
        return float(value)
    raise ExprError(f"invalid operation: float({type_name(value)})")


def _len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (list, dict)):
        return len(value)
    raise ExprError(f"invalid argument for len (type {type_name(value)})")


def go_upper(text: str) -> str:
    """``strings.ToUpper``: rune by rune (``ß`` stays, where Python writes ``SS``)."""
    return "".join(u if len(u := ch.upper()) == 1 else ch for ch in text)


def go_lower(text: str) -> str:
    """``strings.ToLower``: rune by rune."""
    return "".join(u if len(u := ch.lower()) == 1 else ch for ch in text)


def go_split(text: str, sep: str) -> list[str]:
    """``strings.Split``: an empty separator splits into characters."""
    return list(text) if sep == "" else text.split(sep)


def go_replace_all(text: str, old: str, new: str) -> str:
    """``strings.ReplaceAll``: an empty ``old`` inserts ``new`` around every character."""
    if old == "":
        return new + "".join(ch + new for ch in text)
    return text.replace(old, new)


def _join(values: Any, glue: str = "") -> str:
    if not isinstance(values, list):
        raise ExprError(f"cannot join {type_name(values)}")
    return glue.join(_str(v, "join") for v in values)


def _abs(value: Any) -> Any:
    if not is_number(value):
        raise ExprError(f"invalid argument for abs (type {type_name(value)})")
    return abs(value)


def _keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot get keys from {type_name(value)}")
    return list(value)


def _values(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot get values from {type_name(value)}")
    return list(value.values())


def _edge(value: Any, index: int) -> Any:
    if isinstance(value, list):
        return value[index] if value else None
    raise ExprError(f"cannot get {'first' if index == 0 else 'last'} element from {type_name(value)}")


def _now() -> GoTime:
    return GoTime(datetime.datetime.now(tz=datetime.timezone.utc))


def to_json(value: Any) -> str:
    """Argo's ``toJson``: ``json.Marshal`` (HTML-escaped, keys sorted)."""
    if isinstance(value, GoTime):
        return '"' + value.rfc3339nano() + '"'
    try:
        return gojson.marshal(value)
    except (gojson.GoJSONError, ValueError) as e:
        raise ExprError(str(e)) from None


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "string": format_v,
    "trim": lambda s, cut=None: _str(s, "trim").strip(GO_SPACE if cut is None else _str(cut, "trim")),
    "trimPrefix": lambda s, p=" ": _str(s, "trimPrefix").removeprefix(_str(p, "trimPrefix")),
    "trimSuffix": lambda s, p=" ": _str(s, "trimSuffix").removesuffix(_str(p, "trimSuffix")),
    "upper": lambda s: go_upper(_str(s, "upper")),
    "lower": lambda s: go_lower(_str(s, "lower")),
    "split": lambda s, sep: go_split(_str(s, "split"), _str(sep, "split")),
    "replace": lambda s, old, new: go_replace_all(_str(s, "replace"), _str(old, "replace"), _str(new, "replace")),
    "join": _join,
    "hasPrefix": lambda s, p: _str(s, "hasPrefix").startswith(_str(p, "hasPrefix")),
    "hasSuffix": lambda s, p: _str(s, "hasSuffix").endswith(_str(p, "hasSuffix")),
    "abs": _abs,
    "keys": _keys,
    "values": _values,
    "first": lambda v: _edge(v, 0),
    "last": lambda v: _edge(v, -1),
    "now": _now,
    "toJson": to_json,
    "jsonpath": lambda doc, path: jsonpath.query(_str(doc, "jsonpath"), _str(path, "jsonpath")),
}


def call(name: str, args: list[Any], legacy: bool) -> Any:
    """Call the builtin or Argo function ``name``; ``legacy`` selects 3.6's ``argoproj/pkg`` ``asInt``/``asFloat``."""
    if name == "int" or name == "asInt":
        return as_int(_one(name, args), legacy and name == "asInt")
    if name == "float" or name == "asFloat":
        return as_float(_one(name, args), legacy and name == "asFloat")
    function = BUILTINS[name]
    try:
        return function(*args)
    except TypeError:
        raise ExprError(f"invalid number of arguments for {name} (got {len(args)})") from None


def _one(name: str, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ExprError(f"invalid number of arguments for {name} (expected 1, got {len(args)})")
    return args[0]


def base64_decode(text: str) -> str:
    """sprig's ``b64dec``: the decoded text, or Go's error text on bad input (sprig returns ``err.Error()``)."""
    try:
        return base64.b64decode(text.encode(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return "illegal base64 data at input byte 0"


def is_known(name: str) -> bool:
    return name in BUILTINS or name in ("int", "float", "asInt", "asFloat")


__all__ = ["BUILTINS", "call", "is_int", "is_known", "to_json"]
