"""``when`` as the controller evaluates it: the condition text after substitution, through the executor's port of
govaluate (``shouldExecute``), against what the local backend decides (divergences 10 and 11)."""

from __future__ import annotations

from typing import Any

import pytest
from flowyard.errors import FlowyardError
from flowyard.spec import Container, Parameter, Pipeline, Step
from flowyard_argo.executor.govaluate import should_execute
from flowyard_argo.executor.template import substitute_object

from .conftest import manifest, task
from .delivery import workflow_parameters


def gated(default: Any, type_: str = "string", condition: str = "${{ params.mode }} == 'fast'") -> Pipeline:
    box = Container(command=["go"], image="alpine:3")
    return Pipeline(
        name="p",
        parameters={"mode": Parameter(type=type_, default=default)},
        steps={"s": Step(container=box, when=condition)},
    )


def runs_on_argo(pipeline: Pipeline) -> bool:
    doc = manifest(pipeline)
    when = substitute_object(task(doc, "s"), workflow_parameters(doc), allow_unresolved=True)["when"]
    return should_execute(when)


@pytest.mark.parametrize(("value", "local"), [("fast", True), ("slow", False), ("a b", False), ("<&>é", False)])
def test_a_string_parameter_decides_as_locally(value: str, local: bool) -> None:
    assert runs_on_argo(gated(value)) is local


@pytest.mark.parametrize("value", ["x' == 'x' || 'fast", "fast\\", "it's", 'say "hi"'])
def test_a_value_that_would_rewrite_the_condition_is_refused_by_name(value: str) -> None:
    """Before the fix the first value made ``'x' == 'x' || 'fast' == 'fast'``: true, where locally it is false.

    govaluate ends a quoted string at either quote and reads a backslash as an escape (``lexer.go``
    ``readUntilFalse``/``isNotQuote``), and Argo inserts the value as is: none of the three can be written.
    """
    with pytest.raises(FlowyardError, match=r"parameter 'mode'.*govaluate"):
        manifest(gated(value))


@pytest.mark.parametrize(("value", "local"), [("two words", False), ("fast", True), (3, False)])
def test_an_any_parameter_decides_as_locally(value: Any, local: bool) -> None:
    assert runs_on_argo(gated(value, "any")) is local
