"""A DAG or steps template's input artifact is in its tasks' scope: ``from: "{{inputs.artifacts.A}}"`` passes it on.

``createScope`` (``workflow/controller/scope.go``, v3.6.19 to v4.1.2) adds each ``inputs.artifacts.NAME`` of the
template to the scope that ``executeDAG`` (``dag.go``) and ``executeSteps`` (``steps.go``) resolve arguments in. Found
when a nested pipeline's cut fell between a list's producer and its item-numbering task (``test_nested_dags.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import by_display, needs_namespaces, run_manifest

MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: passed}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: make, template: make}
      - name: inner
        template: KIND
        depends: make
        arguments: {artifacts: [{name: a, from: "{{tasks.make.outputs.artifacts.f}}"}]}
  - name: make
    outputs: {artifacts: [{name: f, path: /tmp/f.txt, archive: {none: {}}}]}
    container: {image: python:3.12, command: [python, -c, "open('/tmp/f.txt', 'w').write('hello')"]}
  - name: dag
    inputs: {artifacts: [{name: a}]}
    dag:
      tasks:
      - {name: read, template: read, arguments: {artifacts: [{name: a, from: "{{inputs.artifacts.a}}"}]}}
  - name: steps
    inputs: {artifacts: [{name: a}]}
    steps:
    - - {name: read, template: read, arguments: {artifacts: [{name: a, from: "{{inputs.artifacts.a}}"}]}}
  - name: read
    inputs: {artifacts: [{name: a, path: /tmp/a.txt}]}
    container: {image: python:3.12, command: [python, -c, "print(open('/tmp/a.txt').read())"]}
"""


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
@pytest.mark.parametrize("kind", ["dag", "steps"])
def test_a_templates_input_artifact_passes_to_its_tasks(tmp_path: Path, kind: str, version: str) -> None:
    run = run_manifest(MANIFEST.replace("KIND", kind), tmp_path, version)
    assert run.phase.value == "Succeeded", run.message
    read = by_display(run)["read"]
    assert (tmp_path / "pods" / read.pod / "stdout.log").read_text() == "hello\n"  # type: ignore[attr-defined]
