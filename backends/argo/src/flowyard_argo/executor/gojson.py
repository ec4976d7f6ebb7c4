"""Go's ``encoding/json`` and ``strconv.Quote`` as the Argo controller uses them.

The controller serialises templates and items with Go's encoder (sorted map keys, HTML escaping of ``<``, ``>`` and
``&``, shortest float formatting), validates with Go's scanner and quotes substituted values with ``strconv.Quote``.
Python's ``json`` differs on each point, so this module models Go's behaviour from its documented rules.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_HEX = "0123456789abcdef"
_WHITESPACE = " \t\n\r"
_GO_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_JSON_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class GoJSONError(ValueError):
    """A JSON text Go's decoder rejects; the message is the one Go's scanner gives."""


def go_quote(text: str) -> str:
    """``strconv.Quote``: Go syntax, so control characters become ``\\a``, ``\\x1b``, ``\\v``... (not JSON)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\\ufffd")  # utf8.ValidRune fails: Go writes the replacement character
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def marshal_string(text: str, escape_html: bool = True) -> str:
    """A string as ``json.Marshal`` writes it (``\\u003c`` for ``<`` unless escaping is off)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _JSON_SHORT_ESCAPES:
            out.append(_JSON_SHORT_ESCAPES[ch])
        elif code < 0x20 or (escape_html and ch in "<>&"):
            out.append(f"\\u00{_HEX[code >> 4]}{_HEX[code & 0xF]}")
        elif code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_float(value: float) -> str:
    """A float64 as ``encoding/json`` writes it: shortest digits, exponent form below 1e-6 and from 1e21."""
    if value != value or value in (float("inf"), float("-inf")):
        raise GoJSONError(f"json: unsupported value: {value!r}")
    if value == int(value) and abs(value) < 1e21:
        return str(int(value)) if value != 0 or str(value)[0] != "-" else "-0"
    exact = Decimal(repr(value)).normalize()
    if 1e-6 <= abs(value) < 1e21:
        return format(exact, "f")
    sign, digits, _ = exact.as_tuple()
    exponent = exact.adjusted()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    text = f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if text[-4:-1] == "e-0":  # Go trims e-07 to e-7
        text = text[:-2] + text[-1]
    return text


def marshal(value: Any, escape_html: bool = True) -> str:
    """``json.Marshal`` of a decoded value: maps with sorted keys, no spaces."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return marshal_string(value, escape_html)
    if isinstance(value, dict):
        members = (f"{marshal_string(str(k), escape_html)}:{marshal(value[k], escape_html)}" for k in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(marshal(v, escape_html) for v in value) + "]"
    raise GoJSONError(f"json: unsupported type: {type(value).__name__}")


def compact(raw: str, escape_html: bool = True) -> str:
    """``json.Compact`` as ``json.Marshal`` applies it to a ``RawMessage``: spaces out, ``<>&`` and U+2028/9 escaped."""
    out: list[str] = []
    in_string = escaped = False
    for ch in raw:
        if escape_html and ch in "<>&":
            out.append(f"\\u00{_HEX[ord(ch) >> 4]}{_HEX[ord(ch) & 0xF]}")
        elif escape_html and ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        elif in_string or ch not in _WHITESPACE:
            out.append(ch)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
    return "".join(out)


def fix_html(text: str) -> str:
    """``util/json.Fix``: undo the encoder's escaping of ``<``, ``>`` and ``&`` (exact lower-case sequences only)."""
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def decode(raw: str) -> Any:
    """``json.Unmarshal`` into ``any``: Go's scanner decides validity; lone surrogates become U+FFFD."""
    check_valid(raw)
    value = json.loads(raw)
    return _replace_surrogates(value)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def check_valid(text: str) -> None:
    """Raise :class:`GoJSONError` with Go's scanner message unless ``text`` is one JSON value."""
    scanner = _Scanner(text)
    end = scanner.value(scanner.skip(0))
    end = scanner.skip(end)
    if end != len(text):
        raise GoJSONError(f"invalid character {_quote_char(text[end])} after top-level value")


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def is_valid(text: str) -> bool:
    """``json.Valid``. Every text Python's C decoder accepts (``NaN`` and ``Infinity`` aside) Go's scanner accepts
    too, so that decoder answers first; Go's rules, in Python (some 50 times slower on a template), decide only what it
    rejects (the controller validates each template twice per pod: the executor's largest own cost per pod)."""
    try:
        json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        pass
    else:
        return True
    try:
        check_valid(text)
    except GoJSONError:
        return False
    return True


def split_array(raw: str) -> list[str] | None:
    """The raw text of each element of a JSON array (``None`` for ``null``), as ``[]json.RawMessage`` keeps it."""
    check_valid(raw)
    scanner = _Scanner(raw)
    start = scanner.skip(0)
    if raw.startswith("null", start):
        return None
    if raw[start] != "[":
        kind = {"{": "object", '"': "string", "t": "bool", "f": "bool"}.get(raw[start], "number")
        raise GoJSONError(f"json: cannot unmarshal {kind} into Go value of type []v1alpha1.Item")
    return [raw[a:b] for a, b in scanner.members(start)]


def split_object(raw: str) -> dict[str, str]:
    """Raw member values of a JSON object by decoded key (a repeated key: the last wins, as in Go)."""
    scanner = _Scanner(raw)
    start = scanner.skip(0)
    members: dict[str, str] = {}
    for key_span, value_span in scanner.object_members(start):
        members[decode(raw[key_span[0] : key_span[1]])] = raw[value_span[0] : value_span[1]]
    return members


def _quote_char(ch: str) -> str:
    """How Go's scanner names an offending character in its messages."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + go_quote(ch)[1:-1] + "'"


class _Scanner:
    """A validating recursive-descent reader over a JSON text, reporting Go's messages."""

    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos] in _WHITESPACE:
            pos += 1
        return pos

    def _at(self, pos: int) -> str:
        if pos >= len(self.text):
            raise GoJSONError("unexpected end of JSON input")
        return self.text[pos]

    def value(self, pos: int) -> int:
        ch = self._at(pos)
        if ch == "{":
            return self._object_end(pos)
        if ch == "[":
            return self._array_end(pos)
        if ch == '"':
            return self.string(pos)
        if ch == "-" or (ch.isdigit() and ch.isascii()):
            return self._number(pos)
        for word in ("true", "false", "null"):
            if ch == word[0]:
                for offset, expected in enumerate(word):
                    got = self._at(pos + offset)
                    if got != expected:
                        raise GoJSONError(
                            f"invalid character {_quote_char(got)} in literal {word} (expecting "
                            f"{_quote_char(expected)})"
                        )
                return pos + len(word)
        raise GoJSONError(f"invalid character {_quote_char(ch)} looking for beginning of value")

    def string(self, pos: int) -> int:
        pos += 1
        while True:
            ch = self._at(pos)
            if ch == '"':
                return pos + 1
            if ch == "\\":
                esc = self._at(pos + 1)
                if esc == "u":
                    for k in range(2, 6):
                        digit = self._at(pos + k)
                        if digit not in "0123456789abcdefABCDEF":
                            bad = _quote_char(digit)
                            raise GoJSONError(f"invalid character {bad} in \\u hexadecimal character escape")
                    pos += 6
                    continue
                if esc not in '"\\/bfnrt':
                    raise GoJSONError(f"invalid character {_quote_char(esc)} in string escape code")
                pos += 2
                continue
            if ord(ch) < 0x20:
                raise GoJSONError(f"invalid character {_quote_char(ch)} in string literal")
            pos += 1

    def _number(self, pos: int) -> int:
        match = _NUMBER.match(self.text, pos)
        if match is None:
            if pos + 1 >= len(self.text):
                raise GoJSONError("unexpected end of JSON input")
            raise GoJSONError(f"invalid character {_quote_char(self.text[pos + 1])} in numeric literal")
        end = match.end()
        if end < len(self.text) and self.text[end] in ".eE":
            tail = self.text[end + 1 : end + 2]
            if not tail:
                raise GoJSONError("unexpected end of JSON input")
            where = "after decimal point" if self.text[end] == "." else "in exponent of"
            raise GoJSONError(f"invalid character {_quote_char(tail)} {where} numeric literal")
        return end

    def members(self, pos: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        pos = self.skip(pos + 1)
        if self._at(pos) == "]":
            return spans
        while True:
            end = self.value(pos)
            spans.append((pos, end))
            pos = self.skip(end)
            ch = self._at(pos)
            if ch == "]":
                return spans
            if ch != ",":
                raise GoJSONError(f"invalid character {_quote_char(ch)} after array element")
            pos = self.skip(pos + 1)

    def _array_end(self, pos: int) -> int:
        spans = self.members(pos)
        end = spans[-1][1] if spans else pos + 1
        return self.skip(end) + 1

    def object_members(self, pos: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        found: list[tuple[tuple[int, int], tuple[int, int]]] = []
        pos = self.skip(pos + 1)
        if self._at(pos) == "}":
            return found
        while True:
            ch = self._at(pos)
            if ch != '"':
                raise GoJSONError(f"invalid character {_quote_char(ch)} looking for beginning of object key string")
            key_end = self.string(pos)
            colon = self.skip(key_end)
            if self._at(colon) != ":":
                raise GoJSONError(f"invalid character {_quote_char(self.text[colon])} after object key")
            start = self.skip(colon + 1)
            end = self.value(start)
            found.append(((pos, key_end), (start, end)))
            pos = self.skip(end)
            ch = self._at(pos)
            if ch == "}":
                return found
            if ch != ",":
                raise GoJSONError(f"invalid character {_quote_char(ch)} after object key:value pair")
            pos = self.skip(pos + 1)

    def _object_end(self, pos: int) -> int:
        found = self.object_members(pos)
        end = found[-1][1][1] if found else self.skip(pos + 1)
        return self.skip(end) + 1 if found else end + 1
