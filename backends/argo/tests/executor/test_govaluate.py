"""``when`` through the govaluate port, with Argo's reading of bare words as strings (steps.go shouldExecute)."""

from __future__ import annotations

import pytest
from flowyard_argo.executor.govaluate import WhenError, should_execute


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
