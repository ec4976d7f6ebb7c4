"""A consumer of a skipped step is Omitted, as locally (divergence 3; docs/spec.md "Skipped steps").

Argo's bare dependency ``X`` means ``X.Succeeded || X.Skipped || X.Daemoned`` (``ancestry.go``
``expandDependency``): a consumer of a skipped producer would start and read outputs that do not exist (3.6 passes
the literal tag, 4.1 fails on an absent optional). A consumer of a step's outputs waits for ``X.Succeeded``; a step
that only runs ``after`` another keeps the bare name, so it still runs after a skipped one, as locally.
"""

from __future__ import annotations

from flowyard.spec import Container, Input, Output, Parameter, Pipeline, Step
from flowyard_argo.executor.depends import depends_logic, evaluate

from .conftest import manifest, task, template


def pipeline() -> Pipeline:
    box = Container(command=["make"], image="alpine:3")
    return Pipeline(
        name="p",
        parameters={"mode": Parameter(default="slow")},
        steps={
            "make": Step(
                container=box, when="${{ params.mode }} == 'fast'", outputs={"o": Output(type="integer", path="o.json")}
            ),
            "use": Step(
                container=Container(command=["use", "${{ inputs.v }}"], image="alpine:3"),
                inputs={"v": Input(value="${{ steps.make.outputs.o }}")},
            ),
            "later": Step(container=Container(command=["later"], image="alpine:3"), after=["make"]),
        },
    )


def starts(doc: dict, name: str, make_phase: str) -> bool:
    tasks = {t["name"]: t for t in template(doc, "main")["dag"]["tasks"]}
    results = {n.replace("-", "_"): {"Succeeded": True} for n in tasks}
    results["make"] = {make_phase: True}
    return evaluate(depends_logic(task(doc, name), tasks), results)


def test_a_consumer_of_a_skipped_step_is_omitted() -> None:
    doc = manifest(pipeline())
    assert not starts(doc, "use", "Skipped")
    assert starts(doc, "use", "Succeeded")


def test_a_step_only_after_a_skipped_one_still_runs() -> None:
    doc = manifest(pipeline())
    assert starts(doc, "later", "Skipped") and starts(doc, "later", "Succeeded")
