"""``failure_policy`` as the controller reads it (divergences 2 and 6).

``continue``: ``validate.go`` (``validateDAG``) refuses ``continueOn`` on any task of a DAG template that uses
``depends``, so "carry on after X fails" is written into the dependents' ``depends`` (``X.Failed``), the form
``ancestry.go`` itself rewrites ``continueOn`` into; a loop wrapped for its parallelism keeps ``continueOn`` in its
wrapper, whose single task uses no ``depends``, so the wrapper succeeds and sets its aggregated outputs
(``dag.go`` ``assessDAGPhase``). ``stop``: only a template-level ``failFast`` stops starting the remaining items
(``operator.go`` ``checkParallelism``); the DAG-level one only decides the DAG's phase.
"""

from __future__ import annotations

import pytest
from flowyard.spec import Container, Output, Pipeline, Step
from flowyard.testing.contract import canonical_ir
from flowyard_argo.executor.depends import depends_logic, evaluate
from flowyard_argo.executor.validate import validate_workflow
from flowyard_argo.executor.versions import ARGO_VERSIONS, argo_version

from .conftest import manifest, task, template

VERSIONS = [argo_version(v) for v in ARGO_VERSIONS]


def continuing(parallelism: int | None) -> Pipeline:
    box = Container(command=["work", "${{ item }}"], image="alpine:3")
    return Pipeline(
        name="p",
        failure_policy="continue",
        steps={
            "items": Step(container=box, for_each=[0, 1, 2], parallelism=parallelism, outputs={"f": Output(path="f")}),
            "after": Step(container=Container(command=["done"], image="alpine:3"), after=["items"]),
            "reads": Step(
                container=Container(command=["ls", "${{ inputs.all.path }}"], image="alpine:3"),
                inputs={"all": "${{ steps.items.outputs.f }}"},
            ),
        },
    )


@pytest.mark.parametrize("version", VERSIONS, ids=ARGO_VERSIONS)
@pytest.mark.parametrize("source", ["canonical", "unwrapped", "wrapped"])
def test_continue_passes_the_controllers_validation(source: str, version) -> None:
    ir = {"canonical": lambda: canonical_ir("failing-item-continue"), "unwrapped": lambda: continuing(None)}.get(
        source, lambda: continuing(2)
    )()
    problems = validate_workflow(manifest(ir), version)
    assert problems == [], problems


def test_the_dependents_of_a_continuing_loop_wait_for_it_as_locally() -> None:
    """A fan-in of the loop runs in any outcome (the failed items are missing from its folder); a step only after
    the loop is Omitted when an item failed (its task group is ``Failed``), as locally."""
    doc = manifest(continuing(None))
    tasks = {t["name"]: t for t in template(doc, "main")["dag"]["tasks"]}
    assert "continueOn" not in task(doc, "items")
    for phase in ("Succeeded", "Failed", "Errored"):
        results = {name.replace("-", "_"): {"Succeeded": True} for name in tasks}
        results["items"] = {phase: True}
        assert evaluate(depends_logic(task(doc, "reads"), tasks), results), phase
        assert evaluate(depends_logic(task(doc, "after"), tasks), results) == (phase == "Succeeded"), phase


def test_stop_sets_template_level_fail_fast_where_the_loop_runs() -> None:
    stop = manifest(canonical_ir("failing-item-stop"))
    assert template(stop, "items-loop")["failFast"] is True  # the wrapper holding the loop
    assert template(stop, "main")["failFast"] is True
    cont = manifest(canonical_ir("failing-item-continue"))
    assert template(cont, "items-loop").get("failFast") is False and template(cont, "main")["failFast"] is False
