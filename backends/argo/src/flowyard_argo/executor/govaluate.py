"""``when`` conditions: a port of the govaluate subset Argo's ``shouldExecute`` (``steps.go``) relies on.

Argo lexes the condition with govaluate, turns every VARIABLE token into a STRING token (so ``foo != bar`` compares
two strings) and evaluates. Numbers are float64; ``==`` compares values of the same kind only; ``=~``/``!~`` match a
regular expression; ``&&``/``||`` need booleans. Date-like string literals are read as times (``tryParseTime``),
compared as float64 Unix seconds. ``in`` looks in the array ``,`` builds, ``?``/``:``/``??`` keep govaluate's nil
results, bit operators work on float64 converted to int64. Argo registers no function, so a call is a syntax error.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Stage = Callable[[], Any]

_PREFIX = {"-", "!", "~"}
_MODIFIERS = {"+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"}
_LOGICAL = {"&&", "||"}
_COMPARATORS = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"}
_TERNARY = {"?", ":", "??"}
_VALUE_KINDS = ("NUMBER", "STRING", "VARIABLE", "BOOLEAN", "RPAREN", "ACCESSOR")
# tryParseTime's layouts (Go reference time) as strptime formats; times are read in UTC (the controller's zone)
_TIME_FORMATS = (
    "%a %b %d %H:%M:%S %Y",  # ANSIC
    "%a %b %d %H:%M:%S UTC %Y",  # UnixDate
    "%a %b %d %H:%M:%S %z %Y",  # RubyDate
    "%I:%M%p",  # Kitchen
    "%Y-%m-%dT%H:%M:%S%z",  # RFC3339
    "%Y-%m-%dT%H:%M:%S.%f%z",  # RFC3339Nano
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H%z",
    "%Y-%m-%dT%H:%M%z",
)


class WhenError(ValueError):
    """A condition govaluate cannot parse or evaluate (message in its words)."""


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, STRING, VARIABLE (read as a string), BOOLEAN, OP, LPAREN, RPAREN, ACCESSOR
    value: Any


def _time_value(text: str) -> float | None:
    """``tryParseTime``: a date-like string literal becomes a time, compared as float64 Unix seconds."""
    candidate = text[:-1] + "+0000" if text.endswith("Z") else text
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.datetime.strptime(candidate, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return float(int(parsed.timestamp()))
    return None


def _run(text: str, pos: int, accept: Any) -> int:
    """``readUntilFalse`` breaking at whitespace: the end of the run of characters ``accept`` takes."""
    while pos < len(text) and not text[pos].isspace() and accept(text[pos]):
        pos += 1
    return pos


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A string literal: up to the next quote of either kind (govaluate's ``isNotQuote``), ``\\`` escaping."""
    chars: list[str] = []
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            chars.append(text[pos + 1])
            pos += 2
            continue
        if ch in "'\"":
            return "".join(chars), pos + 1
        chars.append(ch)
        pos += 1
    raise WhenError("Unclosed string literal")


def _operator_char(ch: str) -> bool:
    return not (ch.isdigit() or ch.isalpha() or ch in "()[]'\"")


def tokenize(text: str) -> list[Token]:
    """govaluate's ``readToken``, with Argo's rewrite of VARIABLE tokens into STRING tokens."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        token, pos = _read_token(text, pos, not tokens or tokens[-1].kind not in _VALUE_KINDS)
        if token.kind == "LPAREN" and tokens and tokens[-1].kind == "VARIABLE":
            # lexerState.go: no function is registered, so `name(` is a VARIABLE followed by a CLAUSE ('(' is rune 40)
            raise WhenError(f"Cannot transition token types from VARIABLE [{tokens[-1].value}] to CLAUSE [40]")
        tokens.append(token)
    return tokens


def _read_token(text: str, pos: int, prefix_allowed: bool) -> tuple[Token, int]:
    ch = text[pos]
    if ch.isdigit() or ch == ".":
        if text.startswith("0x", pos):
            end = _run(text, pos + 2, lambda c: c in "0123456789abcdefABCDEF")
            return Token("NUMBER", float(int(text[pos + 2 : end] or "0", 16))), end
        end = _run(text, pos, lambda c: c.isdigit() or c == ".")
        try:
            return Token("NUMBER", float(text[pos:end])), end
        except ValueError:
            raise WhenError(f"Unable to parse numeric value '{text[pos:end]}' to float64\n") from None
    if ch == "[":
        close = text.find("]", pos)
        if close < 0:
            raise WhenError("Unclosed parameter bracket")
        return Token("VARIABLE", text[pos + 1 : close]), close + 1
    if ch.isalpha():
        end = _run(text, pos, lambda c: c.isalpha() or c.isdigit() or c in "_.")
        word = text[pos:end]
        if word in ("true", "false"):
            return Token("BOOLEAN", word == "true"), end
        if word in ("in", "IN"):
            return Token("OP", "in"), end
        if "." in word:
            if word.endswith("."):
                raise WhenError(f"Hanging accessor on token '{word}'")
            return Token("ACCESSOR", word), end  # not a VARIABLE: Argo leaves it, and it has no parameter
        return Token("VARIABLE", word), end
    if ch in "'\"":
        value, end = _quoted(text, pos)
        when = _time_value(value)
        return (Token("NUMBER", when) if when is not None else Token("STRING", value)), end
    if ch in "()":
        return Token("LPAREN" if ch == "(" else "RPAREN", ch), pos + 1
    if ch == ",":
        return Token("OP", ","), pos + 1
    end = _run(text, pos, _operator_char)
    symbol = text[pos:end]
    known = (_PREFIX if prefix_allowed else set()) | _MODIFIERS | _LOGICAL | _COMPARATORS | _TERNARY
    if symbol not in known:
        raise WhenError(f"Invalid token: '{symbol}'")
    return Token("OP", symbol), end


# OperatorSymbol.go's precedences, loosest first (stagePlanner.go chains planSeparator ... planExponential)
_BINARY = [
    (",",),
    ("?", ":", "??"),
    ("||",),
    ("&&",),
    ("==", "!=", ">", "<", ">=", "<=", "=~", "!~", "in"),
    ("&", "|", "^"),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
    ("**",),
]
_INT64_LIMIT = 2**63
_UINT64_MASK = 2**64 - 1


def plan(text: str) -> Stage:
    """``NewEvaluableExpression``: lex and plan the stages; what fails here is a syntax error."""
    parser = _Parser(tokenize(text))
    stage = parser.binary(0)
    if parser.pos != len(parser.tokens):
        raise WhenError(f"Unexpected token {parser.tokens[parser.pos].value!r}")
    return stage


def evaluate(text: str) -> Any:
    """The condition's value (a bool for a well-formed ``when``)."""
    return plan(text)()


def should_execute(when: str) -> bool:
    """``shouldExecute``: an empty condition runs; anything but a boolean result is an error."""
    if not when:
        return True
    try:
        stage = plan(when)
    except WhenError as e:
        hint = ' (hint: try wrapping the affected expression in quotes ("))' if "Invalid token" in str(e) else ""
        raise WhenError(f"Invalid 'when' expression '{when}': {e}{hint}") from None
    try:
        result = stage()
    except WhenError as e:  # Argo's words, its spelling kept
        raise WhenError(f"Failed to evaluate 'when' expresion '{when}': {e}") from None
    if not isinstance(result, bool):
        raise WhenError(f"Expected boolean evaluation for '{when}'. Got {_go_value(result)}")
    return result


def _go_value(value: Any) -> str:
    """``fmt``'s ``%v``: floats in ``strconv.FormatFloat(f, 'g', -1, 64)`` form (exponent from 1e+06)."""
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
        exact = Decimal(repr(value)).normalize()
        exponent = exact.adjusted()
        if exponent < -4 or exponent >= 6:
            sign, digits, _ = exact.as_tuple()
            mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
            return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
        return format(exact, "f")
    return str(value)


class _Parser:
    """``planPrecedenceLevel``: each level's stages, left-associative (``reorderStages``), as deferred evaluations."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def _peek_op(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "OP":
            return str(self.tokens[self.pos].value)
        return None

    def binary(self, level: int) -> Stage:
        if level == len(_BINARY):
            return self.prefix()
        left = self.binary(level + 1)
        while (op := self._peek_op()) in _BINARY[level]:
            self.pos += 1
            right = self.binary(level + 1)
            left = _stage(str(op), left, right)
        return left

    def prefix(self) -> Stage:
        op = self._peek_op()
        if op in ("!", "-", "~"):
            self.pos += 1
            operand = self.prefix()
            return lambda: _apply_prefix(str(op), operand())
        if self.pos >= len(self.tokens):
            raise WhenError("Unexpected end of expression")
        token = self.tokens[self.pos]
        self.pos += 1
        if token.kind == "LPAREN":
            inner = self.binary(0)
            if self.pos >= len(self.tokens) or self.tokens[self.pos].kind != "RPAREN":
                raise WhenError("Unbalanced parenthesis")
            self.pos += 1
            return inner
        if token.kind in ("NUMBER", "STRING", "VARIABLE", "BOOLEAN"):
            value = token.value
            return lambda: value
        if token.kind == "ACCESSOR":
            return lambda: _no_parameter(str(token.value))
        raise WhenError(f"Unexpected token {token.value!r}")


def _no_parameter(accessor: str) -> Any:
    """An accessor stage reads its parameter when evaluated; Argo passes none."""
    raise WhenError(f"No parameter '{accessor.split('.')[0]}' found.")


def _stage(op: str, left: Stage, right: Stage) -> Stage:
    return lambda: _evaluate_stage(op, left, right)


def _evaluate_stage(op: str, left: Stage, right: Stage) -> Any:
    """``evaluateStage``: the left first, then the short circuits of ``&&``, ``||``, ``??``, ``?`` and ``:``."""
    value = left()
    if (op == "&&" and value is False) or (op == "||" and value is True):
        return value
    if op in ("??", ":") and value is not None:
        return value
    if op == "?" and value is False:
        return None
    other = right()
    if op == "?":
        if not isinstance(value, bool):
            raise WhenError(
                f"Value '{_go_value(value)}' cannot be used with the ternary operator '?', it is not a bool"
            )
        return other
    if op in ("??", ":"):
        return other
    if op == ",":
        return [*value, other] if isinstance(value, list) else [value, other]
    return _apply(op, value, other)


def _is_number(value: Any) -> bool:
    return isinstance(value, float)


def _int64(value: float) -> int:
    """Go's ``int64(f)``: truncation toward zero (out of range: amd64's 0x8000000000000000)."""
    if value != value or abs(value) >= _INT64_LIMIT:
        return -_INT64_LIMIT
    return int(value)


def _apply_prefix(op: str, value: Any) -> Any:
    valid = isinstance(value, bool) if op == "!" else _is_number(value)
    if not valid:
        raise WhenError(f"Value '{_go_value(value)}' cannot be used with the prefix '{op}'")
    if op == "~":
        return float(~_int64(value))  # bitwiseNotStage
    return (not value) if op == "!" else -value


def _apply_bitwise(op: str, left: float, right: float) -> float:
    """``bitwise*Stage``, ``leftShiftStage``, ``rightShiftStage``: on int64 (shifts on uint64), back to float64."""
    if op in ("<<", ">>"):
        value, count = _int64(left) & _UINT64_MASK, _int64(right) & _UINT64_MASK
        if count >= 64:
            return 0.0
        return float((value << count) & _UINT64_MASK if op == "<<" else value >> count)
    a, b = _int64(left), _int64(right)
    return float({"&": a & b, "|": a | b, "^": a ^ b}[op])


def _apply(op: str, left: Any, right: Any) -> Any:
    if op in ("&&", "||"):
        for value in (left, right):
            if not isinstance(value, bool):
                raise WhenError(
                    f"Value '{_go_value(value)}' cannot be used with the logical operator '{op}', it is not a bool"
                )
        return (left and right) if op == "&&" else (left or right)
    if op in ("==", "!="):
        equal = type(left) is type(right) and left == right
        return equal if op == "==" else not equal
    if op == "in":
        if not isinstance(right, list):
            raise WhenError(f"Value '{_go_value(right)}' cannot be used with the comparator 'in', it is not a number")
        return any(type(left) is type(item) and left == item for item in right)  # inStage: Go's interface ==
    if op in ("=~", "!~"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise WhenError(f"Value '{_go_value(right)}' cannot be used with the comparator '{op}', it is not a string")
        try:
            found = re.search(right, left) is not None
        except re.error as e:
            raise WhenError(f"Unable to compile regexp pattern '{right}': {e}") from None
        return found if op == "=~" else not found
    if op in (">", "<", ">=", "<="):
        if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
            raise WhenError(f"Value '{_go_value(left)}' cannot be used with the comparator '{op}', it is not a number")
        return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return _go_value(left) + _go_value(right)  # addStage: concatenation when either side is a string
    for value in (left, right):
        if not _is_number(value):
            raise WhenError(f"Value '{_go_value(value)}' cannot be used with the modifier '{op}', it is not a number")
    if op in ("&", "|", "^", "<<", ">>"):
        return _apply_bitwise(op, left, right)
    return _arithmetic(op, left, right)


def _arithmetic(op: str, left: float, right: float) -> float:
    """The modifier stages on float64 (``/`` and ``%`` by zero: Go's +Inf/NaN; ``**`` is ``math.Pow``)."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op in ("/", "%") and right == 0:
        if op == "%" or left == 0 or left != left:
            return float("nan")
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    if op == "/":
        return left / right
    if op == "%":
        return math.fmod(left, right)  # Go's math.Mod keeps the dividend's sign
    try:
        return math.pow(left, right)
    except ValueError:  # a negative base to a fractional power
        return float("nan")
    except OverflowError:
        odd = right.is_integer() and right % 2 == 1
        return math.copysign(math.inf, left) if odd else math.inf
