"""``when`` conditions: a port of the govaluate subset Argo's ``shouldExecute`` (``steps.go``) relies on.

Argo lexes the condition with govaluate, turns every VARIABLE token into a STRING token (so ``foo != bar`` compares
two strings) and evaluates. Numbers are float64; ``==`` compares values of the same kind only; ``=~``/``!~`` match a
regular expression; ``&&``/``||`` need booleans. Left out (refused as parse errors): functions, ``in``, ``??``,
bit operators, accessors, and govaluate's reading of date-like strings as times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_OPERATORS = ("**", "==", "!=", ">=", "<=", "=~", "!~", "&&", "||", "?", ":", ">", "<", "+", "-", "*", "/", "%", "!")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class WhenError(ValueError):
    """A condition govaluate cannot parse or evaluate (message in its words)."""


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, STRING, BOOLEAN, OP, LPAREN, RPAREN
    value: Any


def tokenize(text: str) -> list[Token]:
    """govaluate's lexer, with Argo's rewrite of variables into strings applied."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch in "'\"":
            end = pos + 1
            chars: list[str] = []
            while end < len(text) and text[end] != ch:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                chars.append(text[end])
                end += 1
            if end >= len(text):
                raise WhenError("Unclosed string literal")
            tokens.append(Token("STRING", "".join(chars)))
            pos = end + 1
            continue
        if ch in "()":
            tokens.append(Token("LPAREN" if ch == "(" else "RPAREN", ch))
            pos += 1
            continue
        number = _NUMBER.match(text, pos)
        if number:
            tokens.append(Token("NUMBER", float(number.group(0))))
            pos = number.end()
            continue
        word = _WORD.match(text, pos)
        if word:
            value = word.group(0)
            tokens.append(Token("BOOLEAN", value == "true") if value in ("true", "false") else Token("STRING", value))
            pos = word.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, pos)), None)
        if op is None:
            raise WhenError(f"Invalid token: '{ch}'")
        tokens.append(Token("OP", op))
        pos += len(op)
    return tokens


_BINARY = [("||",), ("&&",), ("==", "!=", ">", "<", ">=", "<=", "=~", "!~"), ("+", "-"), ("*", "/", "%"), ("**",)]


def evaluate(text: str) -> Any:
    """The condition's value (a bool for a well-formed ``when``)."""
    parser = _Parser(tokenize(text))
    value = parser.ternary()
    if parser.pos != len(parser.tokens):
        raise WhenError(f"Unexpected token {parser.tokens[parser.pos].value!r}")
    return value


def should_execute(when: str) -> bool:
    """``shouldExecute``: an empty condition runs; anything but a boolean result is an error."""
    if not when:
        return True
    try:
        result = evaluate(when)
    except WhenError as e:
        hint = ' (hint: try wrapping the affected expression in quotes ("))' if "Invalid token" in str(e) else ""
        raise WhenError(f"Invalid 'when' expression '{when}': {e}{hint}") from None
    if not isinstance(result, bool):
        raise WhenError(f"Expected boolean evaluation for '{when}'. Got {_go_value(result)}")
    return result


def _go_value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def _peek_op(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "OP":
            return str(self.tokens[self.pos].value)
        return None

    def ternary(self) -> Any:
        cond = self.binary(0)
        if self._peek_op() == "?":
            self.pos += 1
            then = self.ternary()
            otherwise = None
            if self._peek_op() == ":":
                self.pos += 1
                otherwise = self.ternary()
            return then if cond is True else otherwise
        return cond

    def binary(self, level: int) -> Any:
        if level == len(_BINARY):
            return self.prefix()
        left = self.binary(level + 1)
        while (op := self._peek_op()) in _BINARY[level]:
            self.pos += 1
            right = self.binary(level + 1)
            left = _apply(str(op), left, right)
        return left

    def prefix(self) -> Any:
        op = self._peek_op()
        if op in ("!", "-"):
            self.pos += 1
            value = self.prefix()
            if op == "!":
                if not isinstance(value, bool):
                    raise WhenError(f"Value '{_go_value(value)}' cannot be used with the prefix '!', it is not a bool")
                return not value
            if not _is_number(value):
                raise WhenError(f"Value '{_go_value(value)}' cannot be used with the prefix '-', it is not a number")
            return -value
        if self.pos >= len(self.tokens):
            raise WhenError("Unexpected end of expression")
        token = self.tokens[self.pos]
        self.pos += 1
        if token.kind == "LPAREN":
            value = self.ternary()
            if self.pos >= len(self.tokens) or self.tokens[self.pos].kind != "RPAREN":
                raise WhenError("Unbalanced parenthesis")
            self.pos += 1
            return value
        if token.kind in ("NUMBER", "STRING", "BOOLEAN"):
            return token.value
        raise WhenError(f"Unexpected token {token.value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, float)


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
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    for value in (left, right):
        if not _is_number(value):
            raise WhenError(f"Value '{_go_value(value)}' cannot be used with the modifier '{op}', it is not a number")
    if op in ("/", "%") and right == 0:
        return float("inf") if op == "/" else float("nan")
    return {
        "+": left + right,
        "-": left - right,
        "*": left * right,
        "/": left / right if right else 0.0,
        "%": left % right if right else 0.0,
        "**": left**right,
    }[op]
