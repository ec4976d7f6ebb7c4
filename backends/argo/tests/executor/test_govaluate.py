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
