"""expr-lang's parser (``parser/parser.go`` ``parseExpression``, ``parsePostfixExpression``, ``parseComparison``,
``parseConditional``, v1.17): precedence climbing over ``parser/operator/operator.go``'s table.

Parts of the language outside the supported subset (``let``, ``if``/``else``, pipes ``|``, ranges ``..``, ``;``
sequences, ``::`` calls) are refused by name (``ExprRefused``), never read some other way.
"""

from __future__ import annotations

import functools
from typing import Any

from flowyard_argo.executor.expr import ast
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused
from flowyard_argo.executor.expr.lexer import Token, tokenize

UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
BINARY = {
    "|": 0, "or": 10, "||": 10, "and": 15, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, ">=": 20, "<=": 20,
    "in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500,
}  # fmt: skip
RIGHT_ASSOCIATIVE = {"**", "^"}
COMPARISONS = {"<", ">", ">=", "<="}
PREDICATES = {"all", "none", "any", "one", "filter", "map", "count", "find", "findIndex", "findLast", "findLastIndex"}
PREDICATES_REFUSED = {"sum", "groupBy", "sortBy", "reduce"}
NEGATABLE = {"contains", "matches", "startsWith", "endsWith", "in"}


@functools.lru_cache(maxsize=1024)
def parse(source: str) -> Any:
    """The tree of ``source`` (immutable, so cached: a loop's children share it); ``ExprError`` with expr's message
    when it does not parse."""
    parser = _Parser(tokenize(source))
    node = parser.expression(0)
    if parser.current.kind != "EOF":
        if parser.current.value == ";":
            raise ExprRefused("expression sequences (;)")
        raise ExprError(f"unexpected token {_describe(parser.current)}")
    return node


def _describe(token: Token) -> str:
    return f'{token.kind}("{token.value}")' if token.kind != "EOF" else "EOF"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def is_(self, kind: str, value: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (value is None or token.value == value)

    def next(self) -> None:
        if self.index < len(self.tokens) - 1:
            self.index += 1

    def expect(self, kind: str, value: str) -> None:
        if not self.is_(kind, value):
            raise ExprError(f"unexpected token {_describe(self.current)}")
        self.next()

    def expression(self, precedence: int) -> Any:
        if precedence == 0 and self.current.kind == "Operator" and self.current.value in ("let", "if"):
            raise ExprRefused(f"'{self.current.value}' expressions")
        left = self.primary()
        previous = ""
        while self.current.kind == "Operator":
            op, negate = self.current.value, False
            if op == "not":
                following = self.tokens[self.index + 1]
                if following.kind != "Operator" or following.value not in NEGATABLE:
                    raise ExprError(f"unexpected token {_describe(following)}")
                if BINARY[following.value] < precedence:
                    break
                self.next()
                op, negate = following.value, True
            if op not in BINARY or BINARY[op] < precedence:
                break
            if op in ("|", ".."):
                raise ExprRefused("pipes (|)" if op == "|" else "ranges (..)")
            self.next()
            if previous == "??" and op != "??":
                raise ExprError(
                    f"Operator ({op}) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses."
                )
            if op in COMPARISONS:
                left = self.comparison(left, op)
            else:
                right = self.expression(BINARY[op] if op in RIGHT_ASSOCIATIVE else BINARY[op] + 1)
                left = ast.Binary(op, left, right)
                if negate:
                    left = ast.Unary("not", left)
            previous = op
        return self.conditional(left) if precedence == 0 else left

    def comparison(self, left: Any, op: str) -> Any:
        """``parseComparison``: ``a < b < c`` is ``a < b && b < c``."""
        root = None
        while True:
            right = self.expression(BINARY[op] + 1)
            node = ast.Binary(op, left, right)
            root = node if root is None else ast.Binary("&&", root, node)
            left = right
            if not (self.current.kind == "Operator" and self.current.value in COMPARISONS):
                return root
            op = self.current.value
            self.next()

    def conditional(self, node: Any) -> Any:
        while self.is_("Operator", "?"):
            self.next()
            if self.is_("Operator", ":"):
                self.next()
                node = ast.Conditional(node, node, self.expression(0))
            else:
                then = self.expression(0)
                self.expect("Operator", ":")
                node = ast.Conditional(node, then, self.expression(0))
        return node

    def primary(self) -> Any:
        token = self.current
        if token.kind == "Operator" and token.value in UNARY:
            self.next()
            return self.postfix(ast.Unary(token.value, self.expression(UNARY[token.value])))
        if self.is_("Bracket", "("):
            self.next()
            inner = self.expression(0)
            if self.is_("Operator", ";"):
                raise ExprRefused("expression sequences (;)")
            self.expect("Bracket", ")")
            return self.postfix(inner)
        if self.depth > 0 and token.kind == "Operator" and token.value in ("#", "."):
            name = ""
            if token.value == "#":
                self.next()
                if self.current.kind == "Identifier":
                    name = self.current.value
                    self.next()
            if name:
                raise ExprRefused(f"closure variables (#{name})")
            node: Any = ast.Pointer("")
            if token.value == ".":
                return self.postfix(self.member(node, optional=False))
            return self.postfix(node)
        if token.kind == "Operator" and token.value == "::":
            raise ExprRefused("'::' calls")
        return self.secondary()

    def secondary(self) -> Any:
        token = self.current
        node: Any
        if token.kind == "Identifier":
            self.next()
            literals = {"true": True, "false": False, "nil": None}
            if token.value in literals:
                return ast.Literal(literals[token.value])
            node = self.call(token.value) if self.is_("Bracket", "(") else ast.Name(token.value)
        elif token.kind == "Number":
            self.next()
            node = ast.Literal(_number(token.value))
        elif token.kind == "String":
            self.next()
            node = ast.Literal(token.value)
        elif self.is_("Bracket", "["):
            node = self.array()
        elif self.is_("Bracket", "{"):
            node = self.map_literal()
        else:
            raise ExprError(f"unexpected token {_describe(token)}")
        return self.postfix(node)

    def call(self, name: str) -> Any:
        if name in PREDICATES_REFUSED:
            raise ExprRefused(f"the builtin {name}()")
        self.expect("Bracket", "(")
        args: list[Any] = []
        position = 0
        while not self.is_("Bracket", ")"):
            if position:
                self.expect("Operator", ",")
                if self.is_("Bracket", ")"):
                    break
            args.append(self.predicate() if name in PREDICATES and position == 1 else self.expression(0))
            position += 1
        self.next()
        return ast.Call(ast.Name(name), tuple(args))

    def predicate(self) -> Any:
        braces = self.is_("Bracket", "{")
        if braces:
            self.next()
        self.depth += 1
        body = self.expression(0)
        self.depth -= 1
        if self.is_("Operator", ";"):
            raise ExprRefused("expression sequences (;)")
        if braces:
            self.expect("Bracket", "}")
        return ast.Predicate(body)

    def array(self) -> Any:
        self.next()
        items: list[Any] = []
        while not self.is_("Bracket", "]"):
            if items:
                self.expect("Operator", ",")
                if self.is_("Bracket", "]"):
                    break
            items.append(self.expression(0))
        self.next()
        return ast.ArrayLit(tuple(items))

    def map_literal(self) -> Any:
        self.next()
        pairs: list[tuple[Any, Any]] = []
        while not self.is_("Bracket", "}"):
            if pairs:
                self.expect("Operator", ",")
                if self.is_("Bracket", "}"):
                    break
            token = self.current
            if token.kind in ("Identifier", "Number", "String"):
                key: Any = ast.Literal(token.value if token.kind != "Number" else _number(token.value))
                self.next()
            elif self.is_("Bracket", "("):
                key = self.expression(0)
            else:
                raise ExprError(f"a map key must be a quoted string, a number, a identifier, or an expression "
                                f"enclosed in parentheses (unexpected token {_describe(token)})")  # fmt: skip
            self.expect("Operator", ":")
            pairs.append((key, self.expression(0)))
        self.next()
        return ast.MapLit(tuple(pairs))

    def member(self, node: Any, optional: bool) -> Any:
        """After a ``.``/``?.``: the property name (operators like ``matches`` are valid names)."""
        self.next()
        token = self.current
        if token.kind != "Identifier" and not (token.kind == "Operator" and token.value.isidentifier()):
            raise ExprError("expected name")
        self.next()
        member = ast.Member(node, ast.Literal(token.value), optional)
        if self.is_("Bracket", "("):
            call = self.call(token.value)
            return ast.Call(member, call.args)
        return member

    def postfix(self, node: Any) -> Any:
        while True:
            token = self.current
            if token.kind == "Operator" and token.value in (".", "?."):
                optional = token.value == "?."
                if optional and self.tokens[self.index + 1].value == "[":
                    self.next()
                    node = self.index_or_slice(node, optional=True)
                else:
                    node = self.member(node, optional)
            elif self.is_("Bracket", "["):
                node = self.index_or_slice(node, optional=False)
            else:
                return node

    def index_or_slice(self, node: Any, optional: bool) -> Any:
        self.next()
        start = stop = None
        if not self.is_("Operator", ":"):
            start = self.expression(0)
            if not self.is_("Operator", ":"):
                self.expect("Bracket", "]")
                return ast.Member(node, start, optional)
        self.next()
        if not self.is_("Bracket", "]"):
            stop = self.expression(0)
        self.expect("Bracket", "]")
        return ast.Slice(node, start, stop)


def _number(text: str) -> int | float:
    """``parseSecondary``'s number rules: hex/binary/octal and decimal integers are int64, ``.``/``e`` floats."""
    value = text.replace("_", "")
    lower = value.lower()
    if lower.startswith(("0x", "0b", "0o")):
        kind = {"x": "hex", "b": "binary", "o": "octal"}[lower[1]]
        try:
            number = int(value, 0)
        except ValueError:
            raise ExprError(f"invalid {kind} literal: strconv.ParseInt: parsing {value!r}: invalid syntax") from None
    elif "." in lower or "e" in lower:
        try:
            return float(value)
        except ValueError:
            raise ExprError(f"invalid float literal: strconv.ParseFloat: parsing {value!r}: invalid syntax") from None
    else:
        number = int(value, 10)
    if number > 2**63 - 1:
        raise ExprError("integer literal is too large")
    return number
