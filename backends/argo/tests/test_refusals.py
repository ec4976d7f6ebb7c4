"""What the argo backend refuses or reports as an error: each by name, in one line, before any I/O."""

from __future__ import annotations

import pytest
from flowyard._lowering import lower
from flowyard.errors import FlowyardError, UnsupportedFeatureError
from flowyard.spec import Container, Parameter, Pipeline, PythonFunction, Step
from flowyard.testing.contract import canonical_ir
from flowyard_argo import ArgoBackend


def py(function: str, **fields) -> Step:
    return Step.model_validate({"python": PythonFunction(function=f"flowyard.testing.functions:{function}"), **fields})


def box(*command: str, **fields) -> Step:
    return Step(container=Container(command=list(command), image="alpine:3"), **fields)


def test_cron_workflow_without_a_schedule_is_a_clear_error() -> None:
    with pytest.raises(FlowyardError, match="needs a schedule"):
        ArgoBackend({"kind": "CronWorkflow"}).compile(canonical_ir("seed-sequential"))


def test_a_parameter_over_argos_argument_limit_is_refused_by_name() -> None:
    big = Pipeline(
        name="p",
        parameters={"blob": Parameter(default="x" * (129 * 1024))},
        steps={"s": box("echo", "${{ params.blob }}")},
    )
    with pytest.raises(UnsupportedFeatureError, match=r"argument-size \(parameter 'blob'"):
        ArgoBackend().compile(lower(big))


def test_a_manifest_over_the_object_limit_names_the_cause_and_a_way_out() -> None:
    huge = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=["x" * 200] * 6000)})
    with pytest.raises(FlowyardError, match=r"KiB, over the ~1 MiB .* list parameter"):
        ArgoBackend().compile(lower(huge))


def test_argo_placeholder_syntax_in_a_literal_is_refused_not_misread() -> None:
    with pytest.raises(FlowyardError, match=r"Argo would read '\{\{'"):
        ArgoBackend().compile(lower(Pipeline(name="p", steps={"s": box("echo", "{{workflow.name}}")})))


def test_python_steps_without_an_image_are_refused_with_the_way_out() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"step-image .*-O default_image=IMAGE"):
        ArgoBackend().compile(canonical_ir("diamond"))


def test_a_step_named_like_an_internal_template_is_refused() -> None:
    p = Pipeline(name="p", steps={"main": box("true")})
    with pytest.raises(UnsupportedFeatureError, match="argo-reserved-name"):
        ArgoBackend().compile(lower(p))


@pytest.mark.parametrize("name", ["flowyard-on-exit", "flowyard-check", "on-exit-failed"])
def test_a_step_named_like_the_exit_handler_or_the_check_is_refused(name: str) -> None:
    p = Pipeline(name="p", steps={name: box("true")}, on_exit=box("bye"))
    with pytest.raises(UnsupportedFeatureError, match="argo-reserved-name"):
        ArgoBackend({"default_image": "a"}).compile(lower(p))
