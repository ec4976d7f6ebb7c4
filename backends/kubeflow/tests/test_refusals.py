"""What the kubeflow backend refuses: each by the feature's name, before anything is compiled."""

from __future__ import annotations

import pytest
from flowyard._lowering import lower
from flowyard.errors import UnsupportedFeatureError
from flowyard.spec import Container, Output, Parameter, Pipeline, PythonFunction, S3Store, SecretRef, Step
from flowyard.testing.contract import canonical_ir
from flowyard_kubeflow import KubeflowBackend
from flowyard_kubeflow import backend as backend_module

from .conftest import STEP_IMAGE


def box(*command: str, **fields) -> Step:
    return Step(container=Container(command=list(command), image="alpine:3"), **fields)


def py(function: str, **fields) -> Step:
    return Step.model_validate(
        {"python": PythonFunction(function=f"flowyard.testing.functions:{function}", image="i"), **fields}
    )


def refused(pipeline, **options) -> str:
    ir = pipeline if not isinstance(pipeline, Pipeline) else lower(pipeline)
    with pytest.raises(UnsupportedFeatureError) as exc:
        KubeflowBackend({"default_image": STEP_IMAGE, **options}).compile(ir)
    return str(exc.value)


def test_a_pipeline_wide_parallelism_limit_is_refused() -> None:
    assert "pipeline-parallelism (pipeline parallelism 2)" in refused(canonical_ir("parallel-limits"))


def test_per_output_s3_keys_are_refused() -> None:
    p = Pipeline(name="p", store=S3Store(bucket="bkt"), steps={"s": box("true")})
    assert "s3-store (store s3://bkt)" in refused(p)


def test_timeouts_are_refused() -> None:
    assert "timeouts (step 's', timeout 300s)" in refused(canonical_ir("retries"))


def test_continue_on_failure_is_refused() -> None:
    assert "continue-on-failure" in refused(canonical_ir("failing-item-continue"))


def test_retries_inside_a_fan_out_are_refused_unless_the_user_opts_out() -> None:
    p = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=[1, 2], retries=2)})
    assert "retries-in-fan-out" in refused(p) and "12389" in refused(p)
    KubeflowBackend({"retries_in_fan_out": True}).compile(lower(p))


def test_a_step_without_an_image_is_refused_with_the_way_out() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"step-image .*-O default_image=IMAGE"):
        KubeflowBackend().compile(canonical_ir("diamond"))


def test_depending_on_a_conditional_step_from_outside_is_refused() -> None:
    assert "after-a-conditional-step (step 'always' runs after 'fast'" in refused(canonical_ir("condition-and-exit"))


def test_a_container_step_cannot_take_a_list_of_files() -> None:
    p = Pipeline(
        name="p",
        steps={
            "w": py("write_json", for_each=[1, 2], inputs={"value": "${{ item }}"}, outputs={"out": Output()}),
            "g": box("ls", "${{ inputs.folder.path }}", inputs={"folder": "${{ steps.w.outputs.out }}"}),
        },
    )
    assert "fan-in-files-into-container" in refused(p)


def test_an_untyped_parameter_is_refused() -> None:
    p = Pipeline(
        name="p", parameters={"x": Parameter(type="any", default=1)}, steps={"s": box("echo", "${{ params.x }}")}
    )
    assert "untyped-parameter" in refused(p)


def test_secrets_without_kfp_kubernetes_are_refused_by_name(monkeypatch) -> None:
    monkeypatch.setattr(backend_module, "kfp_kubernetes_installed", lambda: False)
    p = Pipeline(name="p", steps={"s": box("true", secrets=[SecretRef(secret="db", key="k", env="E")])})
    assert "needs kfp-kubernetes" in refused(p)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], "empty-literal-fan-out (step 's', for_each: an empty list"),
        ([1, "a", {"k": 1}], "mixed-item-types (step 's', for_each: items of types dict, int, str"),
        ([1, 2.5], "mixed-item-types (step 's', for_each: items of types float, int"),
        ([{"a-b": 1}, {"a-b": 2}], "item-keys-not-names (step 's', for_each: item keys 'a-b'"),
    ],
)
def test_literal_items_kfps_parallel_for_cannot_take_are_refused_by_name(items, expected) -> None:
    """Each crashed kfp's compiler with a traceback (ValueError, InconsistentTypeException) before."""
    p = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=items)})
    assert expected in refused(p)


@pytest.mark.parametrize("items", [[1, 2], [1.5, 2.5], [True, False], ["a", "b"], [{"k": 1}, {"k": "x"}]])
def test_literal_items_of_one_type_compile(items) -> None:
    p = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=items)})
    assert "parameterIterator" in KubeflowBackend({"default_image": STEP_IMAGE}).compile(lower(p)).main.content
