"""The capability gate: refuse what changes results, notice what is only a placement hint."""

from __future__ import annotations

from typing import ClassVar

import pytest
from flowyard.backend import Backend, Capability, CompiledFile, CompiledPipeline, required_features
from flowyard.errors import FlowyardError, UnsupportedFeatureError
from flowyard.loading import load_ir

from .conftest import EXAMPLES


class Basic(Backend):
    name = "basic"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CONTAINER_STEPS})

    def compile(self, ir):
        return CompiledPipeline(self.name, (CompiledFile("x", ""),))


def test_required_features_of_variant_2() -> None:
    caps = {u.capability for u in required_features(load_ir(EXAMPLES / "fanout.yaml"))}
    assert caps == {
        Capability.CONTAINER_STEPS,
        Capability.FAN_OUT,
        Capability.STEP_PARALLELISM,
        Capability.FAN_OUT_OVER_FAN_OUT,
        Capability.FAN_IN_FILES,
        Capability.IMAGES,
    }


def test_minio_variant_needs_s3_and_secrets() -> None:
    caps = {u.capability for u in required_features(load_ir(EXAMPLES / "fanout-minio.yaml"))}
    assert {Capability.S3_STORE, Capability.SECRETS} <= caps


def test_refusal_names_each_feature_and_place() -> None:
    with pytest.raises(UnsupportedFeatureError) as exc:
        Basic().check(load_ir(EXAMPLES / "fanout.yaml"))
    msg = str(exc.value)
    assert "fan-out (step 'activator', for_each; step 'processor', for_each)" in msg
    assert "step-parallelism (step 'activator', parallelism 2)" in msg
    assert "images" not in msg  # a placement hint is never a refusal


def test_placement_hints_give_one_notice_per_run() -> None:
    report = Basic().support(load_ir(EXAMPLES / "sequential.yaml"))
    assert report.ok
    assert report.notices() == ["the basic backend ignores images (placement hints mean nothing here)"]


def test_options_are_validated() -> None:
    from flowyard.backend import BackendOptions

    class Opts(BackendOptions):
        namespace: str = "default"

    class WithOptions(Basic):
        Options = Opts

    assert WithOptions({"namespace": "argo"}).options.namespace == "argo"  # type: ignore[attr-defined]
    with pytest.raises(FlowyardError, match="nmespace: unknown option"):
        WithOptions({"nmespace": "argo"})


def test_optional_operations_say_which_capability_is_missing() -> None:
    with pytest.raises(FlowyardError, match="the basic backend cannot submit"):
        Basic().submit(load_ir(EXAMPLES / "sequential.yaml"), None)


def test_cluster_engines_refuse_a_container_string_output_and_a_step_without_an_image() -> None:
    """A container step's value file reaches the next step as its JSON text on a cluster engine
    (quotes included) where a local run decodes it; and a cluster needs an image for every step."""
    from flowyard.backend import cluster_refusals
    from flowyard.lowering import lower
    from flowyard.spec import Container, Output, Pipeline, PythonFunction, Step

    p = lower(
        Pipeline(
            name="p",
            steps={
                "a": Step(
                    container=Container(command=["w"], image="img"), outputs={"v": Output(type="string", path="v.json")}
                ),
                "b": Step(python=PythonFunction(function="m:f"), inputs={"value": "${{ steps.a.outputs.v }}"}),
            },
        )
    )
    found = [str(u) for u in cluster_refusals(p, "Engine", None)]
    assert found == [
        "step-image (step 'b' names no image: set one, or -O default_image=IMAGE)",
        "container-string-value-output (step 'a', output 'v': Engine passes the file's JSON text, quotes included; "
        "declare a non-string type or write a file output)",
    ]
    assert [u.feature for u in cluster_refusals(p, "Engine", "img")] == ["container-string-value-output"]
