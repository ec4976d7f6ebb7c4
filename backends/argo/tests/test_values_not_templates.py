"""Nothing a user writes as a value is substituted or evaluated by the controller (divergence 11).

A value holding ``{{`` cannot reach a pod intact: the controller substitutes the workflow's arguments
(``operator.go`` ``substituteGlobalVariables``), the template's inputs (``substituteParams``) and the pod
(``workflowpod.go`` ``substitutePodParams``), each pass reading ``{{...}}`` and ``{{=...}}`` in whatever an
earlier pass inserted. What the controller would change is refused by name before anything is sent.
"""

from __future__ import annotations

import pytest
from flowyard._lowering import lower
from flowyard.errors import FlowyardError
from flowyard.spec import Container, Parameter, Pipeline, Step
from flowyard_argo import ArgoBackend
from flowyard_argo.compiler import CompileError, build_workflow
from flowyard_argo.options import ArgoOptions

from .conftest import STEP_IMAGE, manifest
from .delivery import plain_argv

HOSTILE = ["{{workflow.name}}", "{{=sprig.upper('x')}}", "{{pod.name}}"]


def echo(value_ref: str, **fields) -> Step:
    return Step(container=Container(command=["echo", value_ref], image="alpine:3"), **fields)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_parameter_default_argo_would_substitute_is_refused_by_name(value: str) -> None:
    """Before the fix this compiled, and the value model gives the pod ``wf`` for ``{{workflow.name}}``."""
    pipeline = Pipeline(name="p", parameters={"v": Parameter(default=value)}, steps={"s": echo("${{ params.v }}")})
    with pytest.raises(FlowyardError, match=r"parameter 'v': its value holds '\{\{'"):
        manifest(pipeline)


@pytest.mark.parametrize("value", ["{ {x} }", "}}{", "a{b}c", "x}}"])
def test_braces_short_of_a_tag_reach_the_pod_as_written(value: str) -> None:
    pipeline = Pipeline(name="p", parameters={"v": Parameter(default=value)}, steps={"s": echo("${{ params.v }}")})
    assert plain_argv(manifest(pipeline), "s") == ["echo", value]


def test_a_submit_time_value_is_never_substituted() -> None:
    ir = lower(Pipeline(name="p", parameters={"v": Parameter(default="x")}, steps={"s": echo("${{ params.v }}")}))
    options = ArgoOptions.model_validate({"default_image": STEP_IMAGE})
    with pytest.raises(CompileError, match=r"parameter 'v': its value holds '\{\{'"):
        build_workflow(ir, options, {"v": "{{workflow.name}}"})


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_item_is_refused_at_compile_time(value: str) -> None:
    pipeline = Pipeline(name="p", steps={"s": echo("${{ item }}", for_each=["ok", {"deep": [value]}])})
    with pytest.raises(FlowyardError, match=r"step 's': for_each item 1 holds '\{\{'"):
        ArgoBackend({"default_image": STEP_IMAGE}).compile(lower(pipeline))
