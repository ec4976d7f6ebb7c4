"""A consumer of a skipped step is Omitted, as locally (divergence 3; docs/spec.md "Skipped steps").

Argo's bare dependency ``X`` means ``X.Succeeded || X.Skipped || X.Daemoned`` (``ancestry.go``
``expandDependency``): a consumer of a skipped producer would start and read outputs that do not exist (3.6 passes
the literal tag, 4.1 fails on an absent optional). A consumer of a step's outputs waits for ``X.Succeeded``; a step
that only runs ``after`` another keeps the bare name, so it still runs after a skipped one, as locally.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowyard.spec import Container, Input, Output, Parameter, Pipeline, Step
from flowyard.testing.cli import user_cli
from flowyard_argo.executor.depends import depends_logic, evaluate
from flowyard_argo.executor.versions import ARGO_VERSIONS

from .conftest import manifest, needs_pods, task, template


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


SKIPPED_PRODUCER = """\
apiVersion: flowyard/v1
kind: Pipeline
name: omitted
parameters:
  mode: {type: string, default: slow}
defaults:
  image: python:3.12-alpine
steps:
  make:
    when: "${{ params.mode }} == 'fast'"
    container:
      command: [python, -c, "open('o.txt', 'w').write('7')"]
    outputs:
      o: {type: integer, path: o.txt}
  use:
    container:
      command: [python, -c, "open('o.txt', 'w').write(str(int(__import__('sys').argv[1]) + 1))", "${{ inputs.v }}"]
    inputs:
      v: {value: "${{ steps.make.outputs.o }}"}
    outputs:
      o: {type: integer, path: o.txt}
  then:
    container:
      command: [python, -c, "pass", "${{ inputs.v }}"]
    inputs:
      v: {value: "${{ steps.use.outputs.o }}"}
  later:
    after: [make]
    container:
      command: [python, -c, "pass"]
"""


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_a_run_whose_steps_are_omitted_after_a_skip_succeeds_as_on_argo(tmp_path: Path, version: str) -> None:
    """Nothing failed: a skip, and the steps that needed its outputs Omitted (docs/spec.md "Conditions"). Argo ends
    such a workflow Succeeded (``dag.go`` ``assessDAGPhase``: an omitted task takes its branch's phase, Skipped here); so does a local run,
    exit 0, from a fresh folder through the CLI."""
    (tmp_path / "p.yaml").write_text(SKIPPED_PRODUCER, encoding="utf-8")
    local = user_cli("run", "p.yaml", "--json", cwd=tmp_path)
    argo = user_cli("run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json", cwd=tmp_path)
    expected = {"make": "Skipped", "use": "Omitted", "then": "Omitted", "later": "Succeeded"}
    for done in (local, argo):
        doc = json.loads(done.stdout)
        assert {t["step"]: t["status"] for t in doc["tasks"] if t["step"] in expected} == expected
        assert (doc["status"], doc["message"], done.returncode) == ("Succeeded", "", 0)
