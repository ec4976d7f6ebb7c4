"""expr-lang's lexer (``parser/lexer/state.go``, v1.17): the tokens the parser reads.

Identifiers are letters, digits, ``_`` and ``$`` only, so ``inputs.parameters.my-name`` lexes as a subtraction; names
with a ``-`` are reached with ``['my-name']``. Strings take Go escapes in either quote; backticks are raw.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowyard_argo.executor.expr.errors import ExprError

WORD_OPERATORS = frozenset({"in", "or", "and", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"})
NEGATABLE = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})
_SINGLE = ",;%+-^"
_DOUBLE_FIRST = "&!=*<>"
_DOUBLE_SECOND = "&=*"
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is Identifier, Number, String, Operator, Bracket or EOF."""

    kind: str
    value: str


def is_alnum(ch: str) -> bool:
    """``utils.IsAlphaNumeric``: a letter, a digit, ``_`` or ``$``."""
    return ch.isalpha() or ch.isdigit() or ch in "_$"


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with EOF; an ``ExprError`` in the lexer's words otherwise."""
    lexer = _Lexer(source)
    lexer.run()
    lexer.tokens.append(Token("EOF", ""))
    return lexer.tokens


class _Lexer:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.tokens: list[Token] = []

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.src[index] if index < len(self.src) else ""

    def run(self) -> None:
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if ch.isspace():
                self.pos += 1
            elif ch in "'\"":
                self.tokens.append(Token("String", self._string(ch)))
            elif ch == "`":
                end = self.src.find("`", self.pos + 1)
                if end < 0:
                    raise ExprError("literal not terminated")
                self.tokens.append(Token("String", self.src[self.pos + 1 : end]))
                self.pos = end + 1
            elif ch.isdigit() or (ch == "." and self.peek(1).isdigit()):
                self.tokens.append(Token("Number", self._number()))
            else:
                self._other(ch)

    def _other(self, ch: str) -> None:
        if ch == "/" and self.peek(1) in "/*":
            self._comment()
            return
        start = self.pos
        self.pos += 1
        if ch == "?":
            if self.peek() in (".", "?"):
                self.pos += 1
        elif ch == "#":
            self.tokens.append(Token("Operator", "#"))
            word = self._word()
            if word:
                self.tokens.append(Token("Identifier", word))
            return
        elif ch in "|:" and self.peek() == ch:
            self.pos += 1
        elif ch == ".":
            if self.peek() == ".":
                self.pos += 1
        elif ch in _DOUBLE_FIRST:
            if self.peek() and self.peek() in _DOUBLE_SECOND:
                self.pos += 1
        elif ch in "([{)]}":
            self.tokens.append(Token("Bracket", ch))
            return
        elif ch in _SINGLE or ch in "/|:":
            pass
        elif is_alnum(ch):
            self.pos = start
            self._identifier()
            return
        else:
            raise ExprError(f"unrecognized character: U+{ord(ch):04X} {ch!r}")
        self.tokens.append(Token("Operator", self.src[start : self.pos]))

    def _word(self) -> str:
        start = self.pos
        while self.pos < len(self.src) and is_alnum(self.src[self.pos]):
            self.pos += 1
        return self.src[start : self.pos]

    def _identifier(self) -> None:
        word = self._word()
        if word == "not":
            self.tokens.append(Token("Operator", "not"))
            save = self.pos
            while self.peek().isspace():
                self.pos += 1
            following = self._word()
            if following in NEGATABLE:
                self.tokens.append(Token("Operator", following))
            else:
                self.pos = save
            return
        self.tokens.append(Token("Operator" if word in WORD_OPERATORS else "Identifier", word))

    def _comment(self) -> None:
        if self.peek(1) == "/":
            end = self.src.find("\n", self.pos)
            self.pos = len(self.src) if end < 0 else end + 1
            return
        end = self.src.find("*/", self.pos + 2)
        if end < 0:
            raise ExprError("unclosed comment")
        self.pos = end + 2

    def _number(self) -> str:
        start = self.pos
        digits = "0123456789_"
        if self.peek() == "0" and self.peek(1) in tuple("xXoObB"):
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[self.peek(1).lower()]
            self.pos += 2
        self._run(digits)
        if self.peek() == "." and self.peek(1) != ".":
            self.pos += 1
            self._run(digits)
        if self.peek() and self.peek() in "eE":
            self.pos += 1
            if self.peek() and self.peek() in "+-":
                self.pos += 1
            self._run(digits)
        if self.peek() and is_alnum(self.peek()):
            raise ExprError(f"bad number syntax: {self.src[start : self.pos + 1]!r}")
        return self.src[start : self.pos]

    def _run(self, allowed: str) -> None:
        while self.peek() and self.peek() in allowed:
            self.pos += 1

    def _string(self, quote: str) -> str:
        out: list[str] = []
        self.pos += 1
        while True:
            if self.pos >= len(self.src) or self.src[self.pos] == "\n":
                raise ExprError("literal not terminated")
            ch = self.src[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch != "\\":
                out.append(ch)
                continue
            out.append(self._escape(quote))

    def _escape(self, quote: str) -> str:
        ch = self.peek()
        self.pos += 1
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        width = {"x": 2, "u": 4, "U": 8}.get(ch)
        if width is not None:
            digits = self.src[self.pos : self.pos + width]
            self.pos += width
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ExprError("invalid char escape")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ExprError("invalid char escape")
            return chr(code)
        if ch in "01234567":
            digits = self.src[self.pos - 1 : self.pos + 2]
            self.pos += 2
            if len(digits) != 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
                raise ExprError("invalid char escape")
            return chr(int(digits, 8))
        raise ExprError("invalid char escape")
