"""A DAG loop task whose ``when`` is false, as each release records it (``workflow/controller/dag.go``).

v3.6.19 and v3.7.9 ``resolveDependencyReferences`` replace the whole task, ``withParam`` included, then check its
``when``; ``expandTask`` expands the items and ``executeDAGTask`` gives each a Skipped node (``when '...' evaluated
false``) under a TaskGroup, which ends Succeeded. v4.1.2 resolves the ``when`` first and returns the task as it is
when it is false: ``expandTask`` cannot parse the unresolved ``withParam`` and, the ``when`` being false, ignores that
(``mustExec``), so there are no items and the task is one Skipped node "Skipped, empty params". A loop over items
written in the task (``withItems``) expands on every release. ``steps.go`` ``resolveReferences`` and ``expandStep``
do the same for a step, whose items are nodes of the step group.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flowyard.runs import TaskState
from flowyard_argo.executor.nodes import EMPTY_LOOP, SKIPPED, TASK_GROUP

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: loopwhen}
spec:
  entrypoint: main
  arguments: {parameters: [{name: go, value: "false"}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: list, template: list}
      - name: each
        template: echo
        depends: list
        when: "{{workflow.parameters.go}} == true"
        LOOP
        arguments: {parameters: [{name: x, value: "{{item}}"}]}
  - name: list
    script: {image: python:3.12, command: [python], source: "print('[1, 2]')"}
  - name: echo
    inputs: {parameters: [{name: x}]}
    container: {image: python:3.12, command: [python, -c, "import sys; print(sys.argv[1])", "{{inputs.parameters.x}}"]}
"""
WITH_PARAM = 'withParam: "{{tasks.list.outputs.result}}"'
WITH_ITEMS = "withItems: [1, 2]"
WHEN = "when 'false == true' evaluated false"


def shape(run: object) -> dict[str, tuple[str, TaskState, str]]:
    return {
        name: (node.type, node.phase, node.message)  # type: ignore[attr-defined]
        for name, node in by_display(run).items()  # type: ignore[arg-type]
        if name.startswith("each")
    }


@pytest.mark.parametrize("version", ["3.6.19", "3.7.9", "4.1.2"])
def test_a_false_when_on_a_loop_over_a_tasks_result_is_recorded_as_each_release_does(
    tmp_path: Path, version: str
) -> None:
    run = run_manifest(MANIFEST.replace("LOOP", WITH_PARAM), tmp_path, version)
    assert run.phase is TaskState.SUCCEEDED, run.message
    if version == "4.1.2":
        assert shape(run) == {"each": (SKIPPED, TaskState.SKIPPED, EMPTY_LOOP)}
    else:
        assert shape(run) == {
            "each": (TASK_GROUP, TaskState.SUCCEEDED, ""),
            "each(0:1)": (SKIPPED, TaskState.SKIPPED, WHEN),
            "each(1:2)": (SKIPPED, TaskState.SKIPPED, WHEN),
        }


@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_a_false_when_on_a_loop_over_written_items_skips_each_item(tmp_path: Path, version: str) -> None:
    run = run_manifest(MANIFEST.replace("LOOP", WITH_ITEMS), tmp_path, version)
    assert run.phase is TaskState.SUCCEEDED, run.message
    assert shape(run) == {
        "each": (TASK_GROUP, TaskState.SUCCEEDED, ""),
        "each(0:1)": (SKIPPED, TaskState.SKIPPED, WHEN),
        "each(1:2)": (SKIPPED, TaskState.SKIPPED, WHEN),
    }


STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: steploop}
spec:
  entrypoint: main
  arguments: {parameters: [{name: go, value: "false"}]}
  templates:
  - name: main
    steps:
    - - {name: list, template: list}
    - - name: each
        template: echo
        when: "{{workflow.parameters.go}} == true"
        withParam: "{{steps.list.outputs.result}}"
        arguments: {parameters: [{name: x, value: "{{item}}"}]}
  - name: list
    script: {image: python:3.12, command: [python], source: "print('[1, 2]')"}
  - name: echo
    inputs: {parameters: [{name: x}]}
    container: {image: python:3.12, command: [python, -c, "import sys; print(sys.argv[1])", "{{inputs.parameters.x}}"]}
"""


@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_a_false_when_on_a_step_loop_is_recorded_as_each_release_does(tmp_path: Path, version: str) -> None:
    run = run_manifest(STEPS, tmp_path, version)
    assert run.phase is TaskState.SUCCEEDED, run.message
    if version == "4.1.2":
        assert shape(run) == {"each": (SKIPPED, TaskState.SKIPPED, EMPTY_LOOP)}
    else:
        assert shape(run) == {
            "each(0:1)": (SKIPPED, TaskState.SKIPPED, WHEN),
            "each(1:2)": (SKIPPED, TaskState.SKIPPED, WHEN),
        }
