"""``when`` through the govaluate port, with Argo's reading of bare words as strings (steps.go shouldExecute)."""

from __future__ import annotations

import re

import pytest
from flowyard_argo.executor.govaluate import WhenError, evaluate, should_execute, tokenize


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("Succeeded == Succeeded", True),
        ("heads == tails", False),
        ("5 > 3", True),
        ("10 < 9", False),
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("\"a b\" == 'a b'", True),
        ("hello =~ '^h'", True),
        ("hello !~ '^h'", False),
        ("true && !false", True),
        ("(1 == 2) || (3 >= 3)", True),
        ("b > a", True),
    ],
)
def test_conditions(when, expected):
    assert should_execute(when) is expected


def test_empty_condition_runs():
    assert should_execute("") is True


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("my-var == x", "cannot be used with the modifier '-'"),
        ("1 + 2", "Expected boolean evaluation for '1 + 2'. Got 3"),
        ("a && b", "cannot be used with the logical operator '&&'"),
        ("1 == 1 #", "Invalid token"),
    ],
)
def test_errors_name_the_problem(when, message):
    with pytest.raises(WhenError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        should_execute(when)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # tryParseTime: date-like literals become times, compared as Unix seconds
        ("'2024-01-01' == '2024-01-01T00:00:00Z'", True),
        ("'2024-01-02' > '2024-01-01 23:59'", True),
        # a string literal ends at the next quote of either kind (isNotQuote)
        ("'a\" == \"a'", True),
        # [bracketed] names are variables, which Argo reads as strings
        ("[a b] == 'a b'", True),
        # + concatenates when either side is a string, with Go's %v of the number
        ("1 + x == '1x'", True),
        ("1000000 + x == '1e+06x'", True),
        # hexadecimal numbers
        ("0x10 == 16", True),
    ],
)
def test_govaluate_quirks(when, expected):
    assert should_execute(when) is expected


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("a.b == c", "No parameter 'a' found."),
        ("1 ==-1", "Invalid token: '==-'"),
        ("1.2.3 == 1", "Unable to parse numeric value '1.2.3' to float64"),
        ("!x", "Value 'x' cannot be used with the prefix '!'"),
        ("'open == x", "Unclosed string literal"),
    ],
)
def test_govaluate_lexer_errors(when, message):
    with pytest.raises(WhenError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        should_execute(when)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ternary: `?` gives nil when false, `:` gives the left unless nil; both looser than the comparators
        ("true ? 10", 10.0),
        ("false ? 10", None),
        ("false ? 35.5 : 50", 50.0),
        ("true ? 1 : 5 > 10", 1.0),
        ("(false ? 5 : 35.5) > 10", True),
        ("true ? (false ? 1 : (false ? 2 : 3)) : (false ? 4 : 5)", 3.0),
        ("false ? true : false", False),
    ],
)
def test_ternary(text, expected):
    assert evaluate(text) == expected
    assert type(evaluate(text)) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # bit operators: float64 operands converted to int64 (shifts to uint64), the result a float64 again
        ("100 & 50", 32.0),
        ("100 | 50", 118.0),
        ("100 ^ 50", 86.0),
        ("2 << 1", 4.0),
        ("2 >> 1", 1.0),
        ("~10", -11.0),
        ("7.9 & 3", 3.0),
        # & | ^ share one level, looser than the shifts, which are looser than + and -
        ("20 & 30 & 50", 16.0),
        ("100 ^ (23 * (2 | 5))", 197.0),
        ("50 << 1 & 90", 64.0),
        ("90 & 50 << 1", 64.0),
        ("90 + 50 << 1 * 5", 4480.0),
        # `??` gives the left unless nil, at the ternary's level
        ("true ?? true ? 100 + 200 : 400", 300.0),
        ("1 ?? 2", 1.0),
        ("(false ? 1) ?? 2", 2.0),
        # `in` against the array the separator builds; `==`'s equality (a string is no number)
        ("1 in (1, 2, 3)", True),
        ("!(1 in (1, 2, 3))", False),
        ("4 IN (1, 2, 3)", False),
        ("'1' in (1, 2)", False),
        ("b in (a, b)", True),
    ],
)
def test_operators_argo_allows(text, expected):
    assert evaluate(text) == expected
    assert type(evaluate(text)) is type(expected)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("3 & 1 == 1", True),
        ("x in (y, x)", True),
        ("(false ? x) ?? true", True),
        # short-circuits: the right side is never evaluated, so never type-checked
        ("false && 1", False),
        ("true || 1", True),
        ("false ? ~x : true", True),
    ],
)
def test_when_with_the_full_operator_set(when, expected):
    assert should_execute(when) is expected


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("x & 1 == 1", "Value 'x' cannot be used with the modifier '&', it is not a number"),
        ("1 << y == 1", "Value 'y' cannot be used with the modifier '<<', it is not a number"),
        ("~x == 1", "Value 'x' cannot be used with the prefix '~'"),
        ("1 in (1)", "Value '1' cannot be used with the comparator 'in', it is not a number"),
        ("x ? true : false", "Value 'x' cannot be used with the ternary operator '?', it is not a bool"),
        # govaluate's own failure cases of these operators (evaluationFailure_test.go), with Argo's literals
        ("1 | true", "Value 'true' cannot be used with the modifier '|', it is not a number"),
        ("1 ^ true", "Value 'true' cannot be used with the modifier '^', it is not a number"),
        ("1 >> true", "Value 'true' cannot be used with the modifier '>>', it is not a number"),
        ("1 in 2", "Value '2' cannot be used with the comparator 'in', it is not a number"),
        ("1 in 'foo'", "Value 'foo' cannot be used with the comparator 'in', it is not a number"),
        ("1 in true", "Value 'true' cannot be used with the comparator 'in', it is not a number"),
        ("10 ? true", "Value '10' cannot be used with the ternary operator '?', it is not a bool"),
        ("'foo' ? true", "Value 'foo' cannot be used with the ternary operator '?', it is not a bool"),
        ("1, 2", "Expected boolean evaluation for '1, 2'. Got [1 2]"),
        ("nope ?? true", "Expected boolean evaluation for 'nope ?? true'. Got nope"),
        # no functions are registered: a call is a variable followed by a clause
        ("foo(1) == 1", "Cannot transition token types from VARIABLE [foo] to CLAUSE [40]"),
    ],
)
def test_errors_of_the_full_operator_set(when, message):
    with pytest.raises(WhenError, match=re.escape(message)):
        should_execute(when)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # each modifier computed alone: 100 ** 200 overflowed while 1 + 1 was evaluated (float64: +Inf)
        ("1000 + 1000", 2000.0),
        ("100 ** 200", float("inf")),
        # math.Mod keeps the dividend's sign; x / 0 is a signed infinity
        ("-7 % 3", -1.0),
        ("-1 / 0", float("-inf")),
    ],
)
def test_modifiers_are_go_float64(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("1 + 2", "Expected boolean evaluation for '1 + 2'. Got 3"),
        ("1 == 1 #", "Invalid 'when' expression '1 == 1 #': Invalid token: '#' (hint: try wrapping"),
        ("f(1)", "Invalid 'when' expression 'f(1)': Cannot transition token types"),
        ("a && b", "Failed to evaluate 'when' expresion 'a && b': Value 'a' cannot be used with the logical"),
        ("a.b == c", "Failed to evaluate 'when' expresion 'a.b == c': No parameter 'a' found."),
        ("false && a.b", None),
    ],
)
def test_syntax_and_evaluation_errors_are_told_apart(when, message):
    """shouldExecute: NewEvaluableExpression's error is an invalid expression, Evaluate's a failure to evaluate."""
    if message is None:
        assert should_execute(when) is False
        return
    with pytest.raises(WhenError, match="^" + re.escape(message)):
        should_execute(when)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # parsing_test.go's shapes: `IN` is the comparator `in`, `,` a separator read at the start of a token
        (
            "1 IN (1,2)",
            [
                ("NUMBER", 1.0),
                ("OP", "in"),
                ("LPAREN", "("),
                ("NUMBER", 1.0),
                ("OP", ","),
                ("NUMBER", 2.0),
                ("RPAREN", ")"),
            ],
        ),
        ("a ?? b", [("VARIABLE", "a"), ("OP", "??"), ("VARIABLE", "b")]),
        ("~1 << 2", [("OP", "~"), ("NUMBER", 1.0), ("OP", "<<"), ("NUMBER", 2.0)]),
    ],
)
def test_tokens_of_the_operators(text, kinds):
    assert [(t.kind, t.value) for t in tokenize(text)] == kinds
