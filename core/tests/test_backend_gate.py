"""The capability gate: refuse what changes results, notice what is only a placement hint."""

from __future__ import annotations

from typing import ClassVar

import pytest
from flowyard._loading import load_ir
from flowyard.backend import Backend, Capability, CompiledFile, CompiledPipeline, required_features
from flowyard.errors import FlowyardError, UnsupportedFeatureError

from .conftest import EXAMPLES


class Basic(Backend):
    name = "basic"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CONTAINER_STEPS})

    def _compile(self, ir):
        return CompiledPipeline(self.name, (CompiledFile("x", ""),), notices=("its own notice",))


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
    from flowyard.requests import LogQuery, Remote, SubmitRequest
    from flowyard.runs import RunRequest

    ir = load_ir(EXAMPLES / "sequential.yaml")
    with pytest.raises(FlowyardError, match="the basic backend cannot submit"):
        Basic().submit(ir, SubmitRequest())
    with pytest.raises(FlowyardError, match="the basic backend cannot run"):
        Basic().run(ir, RunRequest())
    with pytest.raises(FlowyardError, match="the basic backend cannot status"):
        Basic().status("r", Remote())
    with pytest.raises(FlowyardError, match="the basic backend cannot logs"):
        Basic().logs("r", LogQuery())


class Runs(Basic):
    """Runs (without resuming) and records what its own operation was handed."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CONTAINER_STEPS, Capability.RUN})
    handed: ClassVar[list[object]] = []

    def _run(self, ir, request):
        self.handed.append(request)
        raise AssertionError("reached only when the gate lets the run through")


def test_the_gate_runs_in_the_operation_before_the_plugin_is_called() -> None:
    """compile and run check capabilities themselves (a caller need not call check first): a refused
    feature never reaches the plugin's ``_compile``/``_run``, and resuming needs its own capability."""
    from flowyard.runs import RunRequest

    with pytest.raises(UnsupportedFeatureError, match="fan-out"):
        Basic().compile(load_ir(EXAMPLES / "fanout.yaml"))
    with pytest.raises(UnsupportedFeatureError, match="fan-out"):
        Runs().run(load_ir(EXAMPLES / "fanout.yaml"), RunRequest())
    with pytest.raises(FlowyardError, match="the basic backend cannot resume"):
        Runs().run(None, RunRequest(resume="r1"))
    assert Runs.handed == []


def test_the_gate_notices_reach_the_result_once() -> None:
    from flowyard.runs import RunRequest

    ir = load_ir(EXAMPLES / "sequential.yaml")
    hint = "the basic backend ignores images (placement hints mean nothing here)"
    assert Basic().compile(ir).notices == (hint, "its own notice")
    with pytest.raises(AssertionError, match="reached only"):
        Runs().run(ir, RunRequest(notices=("given",)))
    assert Runs.handed[-1] == RunRequest(notices=("given", hint))


def test_cluster_engines_refuse_a_container_string_output_and_a_step_without_an_image() -> None:
    """A container step's value file reaches the next step as its JSON text on a cluster engine
    (quotes included) where a local run decodes it; and a cluster needs an image for every step."""
    from flowyard._lowering import lower
    from flowyard.backend import cluster_refusals
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
