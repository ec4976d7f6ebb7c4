"""``depends``/``dependencies`` rewritten as ancestry.go does and evaluated over result flags as dag.go does."""

from __future__ import annotations

import pytest
from flowyard_argo.executor.depends import DependsError, dependency_names, depends_logic, evaluate

TASKS = {
    "a": {"name": "a"},
    "b-x": {"name": "b-x", "continueOn": {"failed": True}},
    "c": {"name": "c", "dependencies": ["a", "b-x"]},
    "d": {"name": "d", "depends": "a && (b-x.Failed || !a.Skipped)"},
}


def test_bare_names_expand_with_continue_on():
    assert depends_logic(TASKS["c"], TASKS) == (
        "(a.Succeeded || a.Skipped || a.Daemoned) && (b-x.Succeeded || b-x.Skipped || b-x.Daemoned || b-x.Failed)"
    )
    assert dependency_names(TASKS["d"], TASKS) == ["a", "b-x"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"Succeeded": True}, {"Failed": True}, True),
        ({"Failed": True}, {"Succeeded": True}, False),
        ({"Skipped": True}, {"Succeeded": True}, False),
        ({"Skipped": True}, {"Failed": True}, True),
    ],
)
def test_evaluation_reads_dashes_as_underscores(a, b, expected):
    assert evaluate(depends_logic(TASKS["d"], TASKS), {"a": a, "b_x": b}) is expected


def test_unknown_name_is_an_error():
    with pytest.raises(DependsError, match="unable to evaluate expression"):
        evaluate("z.Succeeded", {})
