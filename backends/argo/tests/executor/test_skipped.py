"""A consumer of a skipped task's output, per version: 3.x passes the tag as text (non-strict replacement), 4.1.2
fails on the absent optional, or uses the consumer's input default (``markAbsentOptionalArgs``, ``ProcessArgs``)."""

from __future__ import annotations

import pytest
from flowyard.runs import TaskState

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: skip}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: make, when: "1 == 2"}
      - {name: b, template: show, depends: a, arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.parameters.out}}"}]}}
  - name: make
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
    container: {image: python:3.12, command: [python, -c, "open('/tmp/out', 'w').write('x')"]}
  - name: show
    inputs: {parameters: [{name: m, DEFAULT}]}
    container: {image: python:3.12, command: [python, -c, "import sys; print(sys.argv[1])", "{{inputs.parameters.m}}"]}
"""


def log(run, tmp_path, name):
    return (tmp_path / "pods" / by_display(run)[name].pod / "stdout.log").read_text()


@pytest.mark.parametrize("version", ["3.6.19", "3.7.9"])
def test_v3_passes_the_unresolved_tag_as_text(tmp_path, version):
    run = run_manifest(MANIFEST.replace(", DEFAULT", ""), tmp_path, version)
    assert by_display(run)["a"].phase is TaskState.SKIPPED
    assert log(run, tmp_path, "b") == "{{tasks.a.outputs.parameters.out}}\n"


def test_v4_fails_on_the_absent_optional(tmp_path):
    run = run_manifest(MANIFEST.replace(", DEFAULT", ""), tmp_path, "4.1.2")
    b = by_display(run)["b"]
    assert b.phase is TaskState.ERROR
    assert (
        b.message
        == "inputs.parameters.m: argument references an absent optional (skipped/omitted node output with no default)"
    )


def test_v4_uses_the_consumer_default(tmp_path):
    run = run_manifest(MANIFEST.replace("DEFAULT", "default: fallback"), tmp_path, "4.1.2")
    assert run.phase is TaskState.SUCCEEDED, run.message
    assert log(run, tmp_path, "b") == "fallback\n"
