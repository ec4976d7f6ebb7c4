"""``when`` with the govaluate operators Argo allows beyond comparisons (``in``, ``??``, ``?:``, bit operators), run
through the executor: the step's output substituted into the condition, then ``shouldExecute`` (``steps.go``)."""

from __future__ import annotations

from flowyard.runs import TaskState

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: when-operators}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: count, template: count}
    - - {name: listed, template: say, when: "{{steps.count.outputs.result}} in (3, 6)"}
      - {name: unlisted, template: say, when: "{{steps.count.outputs.result}} in (4, 5)"}
      - {name: odd-bit, template: say, when: "{{steps.count.outputs.result}} & 1 == 1 ? true : false"}
      - {name: shifted, template: say, when: "1 << {{steps.count.outputs.result}} == 16"}
      - {name: named, template: say, when: "(false ? x) ?? ({{steps.count.outputs.result}} in (a, 3))"}
  - name: count
    container: {image: python:3.12, command: [python, -c, "print(3)"]}
  - name: say
    container: {image: python:3.12, command: [python, -c, "print('ran')"]}
"""


def test_when_with_in_ternary_coalesce_and_bit_operators(tmp_path):
    run = run_manifest(MANIFEST, tmp_path)
    assert run.phase is TaskState.SUCCEEDED, run.message
    nodes = by_display(run)
    ran = {
        name
        for name in ("listed", "unlisted", "odd-bit", "shifted", "named")
        if nodes[name].phase is TaskState.SUCCEEDED
    }
    assert ran == {"listed", "odd-bit", "named"}
    assert nodes["unlisted"].phase is TaskState.SKIPPED
    assert nodes["unlisted"].message == "when '3 in (4, 5)' evaluated false"
    assert nodes["shifted"].message == "when '1 << 3 == 16' evaluated false"
