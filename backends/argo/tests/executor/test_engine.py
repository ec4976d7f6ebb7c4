"""The engine on hand-written manifests: what each pod's argv receives, per pinned version, and the controller's
rules for steps, DAGs, loops, retries, conditions and exit handlers. Pods run on the host (needs unshare)."""

from __future__ import annotations

import json

import pytest
from flowyard.runs import TaskState

from .conftest import argv_of, by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

ECHO = """
  - name: echo
    inputs: {parameters: [{name: m}]}
    container:
      image: python:3.12-alpine
      command: [python, -c, "import json, sys; print(json.dumps(sys.argv[1:]))", "{{inputs.parameters.m}}"]
"""

# JSON text as a user writes it (raw number text 2.50 kept by the controller)
ITEMS = r'[{"o": {"k": "<&>"}, "s": "q\"b\\n", "n": 2.50}, 2.50, "say \"hi\"", "back\\slash", "line\nbreak", "a&b<c>"]'


def loop_manifest(items: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: items}}
spec:
  entrypoint: main
  arguments: {{parameters: [{{name: items, value: {json.dumps(items)}}}]}}
  templates:
  - name: main
    dag:
      tasks:
      - name: fan
        template: echo
        arguments: {{parameters: [{{name: m, value: "{{{{item}}}}"}}]}}
        withParam: "{{{{workflow.parameters.items}}}}"
{ECHO}"""


V3_ARGV = [
    '{"n":2.50,"o":{"k":"\\u003c\\u0026\\u003e"},"s":"q\\"b\\\\n"}',
    "2.50",
    'say \\"hi\\"',
    "back\\\\slash",
    "line\\nbreak",
    "a&b<c>",
]
V4_ARGV = [*V3_ARGV[:2], 'say "hi"', "back\\slash", "line\nbreak", "a&b<c>"]


@pytest.mark.parametrize(("version", "expected"), [("3.6.19", V3_ARGV), ("3.7.9", V3_ARGV), ("4.1.2", V4_ARGV)])
def test_items_reach_argv_as_the_controller_delivers_them(tmp_path, version, expected):
    run = run_manifest(loop_manifest(ITEMS), tmp_path, version)
    assert run.phase is TaskState.SUCCEEDED, run.message
    pods = sorted(run.tree.pods(), key=lambda n: int(n.display_name.split("(")[1].split(":")[0]))
    assert [argv_of(p, tmp_path)[0] for p in pods] == expected
    assert pods[0].display_name == 'fan(0:n:2.50,o:{"k":"<&>"},s:q\\"b\\\\n)'


@pytest.mark.parametrize("char", ["\\u001b", "\\u0007"])
def test_control_characters_fail_v4_expansion_and_pass_v3_as_text(tmp_path, char):
    items = f'["x{char}y"]'
    v4 = run_manifest(loop_manifest(items), tmp_path / "v4", "4.1.2")
    assert v4.phase is TaskState.ERROR  # the target's branch errored: assessDAGPhase gives Error
    fan = by_display(v4)["fan"]
    assert fan.phase is TaskState.ERROR and "in string escape code" in fan.message
    assert not v4.tree.pods()
    v3 = run_manifest(loop_manifest(items), tmp_path / "v3", "3.6.19")
    assert v3.phase is TaskState.SUCCEEDED
    assert argv_of(v3.tree.pods()[0], tmp_path / "v3") == [f"x{char}y"]


def test_workflow_parameter_holding_esc_fails_substitution(tmp_path):
    manifest = loop_manifest('["a"]').replace("withParam", "withItems: [a]\n        x-withParam")
    doc = manifest.replace('value: "{{item}}"', 'value: "{{workflow.parameters.esc}}"').replace(
        "arguments: {parameters: [{name: items", 'arguments: {parameters: [{name: esc, value: "\\e"}, {name: items'
    )
    run = run_manifest(doc.replace('        x-withParam: "{{workflow.parameters.items}}"\n', ""), tmp_path)
    assert run.phase is TaskState.ERROR
    assert any("invalid JSON" in n.message or "escape code" in n.message for n in run.tree.nodes.values())


STEPS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: steps}
spec:
  entrypoint: main
  onExit: exit
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: main
    steps:
    - - {name: hello, template: say, arguments: {parameters: [{name: m, value: "hello {{workflow.parameters.who}}"}]}}
      - {name: never, template: say, when: "{{workflow.parameters.who}} == nobody", arguments: {parameters: [{name: m, value: x}]}}
    - - name: loop
        template: say
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withSequence: {count: "2", start: "1"}
      - {name: flaky, template: fail, continueOn: {failed: true}}
    - - {name: last, template: echo, arguments: {parameters: [{name: m, value: "{{steps.hello.outputs.parameters.out}} / {{steps.loop.outputs.parameters.out}} / {{steps.flaky.status}}"}]}}
  - name: say
    inputs: {parameters: [{name: m}]}
    outputs: {parameters: [{name: out, globalName: said, valueFrom: {path: /tmp/out.txt}}]}
    script:
      image: python:3.12
      command: [python]
      source: |
        open("/tmp/out.txt", "w").write("{{inputs.parameters.m}}\\n")
  - name: fail
    retryStrategy: {limit: 1}
    container: {image: python:3.12, command: [python, -c, "raise SystemExit(3)"]}
  - name: exit
    steps: [[{name: report, template: echo, arguments: {parameters: [{name: m, value: "{{workflow.status}} {{workflow.outputs.parameters.said}}"}]}}]]
"""
    + ECHO
)


def test_steps_outputs_loops_retries_when_and_exit_handler(tmp_path):
    run = run_manifest(STEPS, tmp_path)
    assert run.phase is TaskState.SUCCEEDED, run.message
    nodes = by_display(run)
    assert nodes["never"].phase is TaskState.SKIPPED
    assert nodes["never"].message == "when 'world == nobody' evaluated false"
    assert {"loop(0:1)", "loop(1:2)"} <= set(nodes)
    flaky = nodes["flaky"]
    assert flaky.type == "Retry" and flaky.phase is TaskState.FAILED
    assert [run.tree.nodes[c].display_name for c in flaky.children] == ["flaky(0)", "flaky(1)"]
    assert argv_of(nodes["last"], tmp_path) == ['hello world / ["1","2"] / Failed']
    assert argv_of(nodes["report"], tmp_path)[0] in ("Succeeded hello world", "Succeeded 1", "Succeeded 2")
    assert (tmp_path / "workflow.json").is_file()
    assert "STEP" in run.tree.render(run.root.id)


DAG = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dag}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: a, template: fail}
      - {name: on-fail, depends: a.Failed, template: echo, arguments: {parameters: [{name: m, value: "{{tasks.a.status}}"}]}}
      - {name: on-ok, depends: a, template: echo, arguments: {parameters: [{name: m, value: x}]}}
      - {name: nested, template: inner, depends: on-fail}
  - name: inner
    dag:
      tasks:
      - {name: deep, template: countdown, arguments: {parameters: [{name: n, value: "2"}]}}
  - name: countdown
    inputs: {parameters: [{name: n}]}
    steps:
    - - {name: dec, template: dec, arguments: {parameters: [{name: n, value: "{{inputs.parameters.n}}"}]}}
    - - {name: again, template: countdown, when: "{{steps.dec.outputs.result}} > 0", arguments: {parameters: [{name: n, value: "{{steps.dec.outputs.result}}"}]}}
  - name: dec
    inputs: {parameters: [{name: n}]}
    script: {image: python:3.12, command: [python], source: "print({{inputs.parameters.n}} - 1)"}
  - name: fail
    container: {image: python:3.12, command: [python, -c, "raise SystemExit(1)"]}
"""
    + ECHO
)


def test_dag_depends_results_and_recursion(tmp_path):
    run = run_manifest(DAG, tmp_path)
    nodes = {n.name: n for n in run.tree.nodes.values()}
    assert nodes["dag.on-fail"].phase is TaskState.SUCCEEDED
    assert argv_of(nodes["dag.on-fail"], tmp_path) == ["Failed"]
    assert nodes["dag.on-ok"].phase is TaskState.OMITTED
    assert nodes["dag.on-ok"].message == "omitted: depends condition not met"
    decs = [n for n in run.tree.pods() if n.template == "dec"]
    assert [n.outputs["result"] for n in decs] == ["1", "0"]
    assert "dag.nested.deep[1].again[1].again" in nodes
    assert nodes["dag.nested.deep[1].again[1].again"].phase is TaskState.SKIPPED
    # a leaf (on-ok) is omitted after a failure it did not handle: the DAG fails, as assessDAGPhase decides
    assert run.phase is TaskState.FAILED


def test_unmapped_image_is_refused_by_name(tmp_path):
    run = run_manifest(DAG.replace("python:3.12-alpine", "registry.example/unknown:1"), tmp_path)
    messages = [n.message for n in run.tree.nodes.values()]
    assert "image 'registry.example/unknown:1' has no entry in the image map (-O image_map=FILE)" in messages


FAIL_FAST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ff}
spec:
  entrypoint: main
  onExit: report
  templates:
  - name: main
    dag:
      FAILFAST
      tasks:
      - {name: bad, template: fail}
      - {name: slow, template: sleepy}
      - {name: later, template: sleepy, depends: slow}
  - name: sleepy
    container: {image: python:3.12, command: [python, -c, "import time; time.sleep(2.5)"]}
  - name: fail
    container: {image: python:3.12, command: [python, -c, "raise SystemExit(2)"]}
  - name: report
    container: {image: python:3.12, command: [python, -c, "import sys; print(sys.argv[1])", "{{workflow.status}} {{workflow.failures}}"]}
"""


@pytest.mark.parametrize("fail_fast", [True, False])
def test_dag_fail_fast_decides_the_phase_only_and_exit_handler_sees_failures(tmp_path, fail_fast):
    run = run_manifest(FAIL_FAST.replace("FAILFAST", f"failFast: {str(fail_fast).lower()}"), tmp_path)
    assert run.phase is TaskState.FAILED
    names = set(by_display(run))
    # bad fails while slow still runs: the DAG's own failFast does not stop ``later`` starting (the template's would)
    assert "later" in names
    report = (tmp_path / "pods" / run.exit_node.pod / "stdout.log").read_text()
    status, failures = report.split(" ", 1)
    assert status == "Failed"
    (failure,) = [f for f in json.loads(failures) if f["displayName"] == "bad"]  # and the DAG (in any order)
    assert list(failure) == ["displayName", "message", "templateName", "phase", "podName", "finishedAt"]
    assert failure["displayName"] == "bad" and failure["message"] == "main: Error (exit code 2)"


@pytest.mark.parametrize("where", ["dag", "template"])
def test_only_the_templates_fail_fast_stops_starting_tasks(tmp_path, where):
    """``operator.go`` ``checkParallelism`` starts nothing more in a DAG with a failed child only when the template's
    own ``failFast`` is true (``Template.IsFailFast``: unset is false), and then fails the DAG with its message once
    no pod of it runs; ``dag.failFast`` (unset is true) is read by ``assessDAGPhase`` alone, which says Running while
    any task runs, so a DAG with only that goes on starting what is ready (argo-workflows 5223)."""
    fail_fast = "failFast: true" if where == "dag" else "failFast: false"
    manifest = FAIL_FAST.replace("FAILFAST", fail_fast)
    if where == "template":
        manifest = manifest.replace("  - name: main\n    dag:", "  - name: main\n    failFast: true\n    dag:")
    after_bad = "      - {name: later, template: sleepy, depends: slow}\n      - {name: after-bad, template: sleepy, depends: bad}"
    manifest = manifest.replace("      - {name: later, template: sleepy, depends: slow}", after_bad)
    run = run_manifest(manifest, tmp_path)
    assert run.phase is TaskState.FAILED
    names = by_display(run)
    assert ("later" in names) is (where == "dag")
    # what executeDAGTask decides without starting a template is still decided: Omitted, as its depends is false
    assert names["after-bad"].phase is TaskState.OMITTED  # type: ignore[attr-defined]
    if where == "template":
        assert names["ff"].message == "template has failed or errored children and failFast enabled"  # type: ignore[attr-defined]


LOOP_WHEN = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: lw}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: big
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withItems: [1, 5, 9]
        when: "{{item}} > 4"
    - - name: dag
        template: dag
  - name: dag
    dag:
      tasks:
      - name: small
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withItems: [1, 5]
        when: "{{item}} < 4"
"""
    + ECHO
)


def test_a_loop_condition_naming_item_is_decided_per_child(tmp_path):
    run = run_manifest(LOOP_WHEN, tmp_path)
    assert run.phase is TaskState.SUCCEEDED, run.message
    nodes = by_display(run)
    assert nodes["big(0:1)"].phase is TaskState.SKIPPED
    assert nodes["big(0:1)"].message == "when '1 > 4' evaluated false"
    assert [argv_of(nodes[n], tmp_path) for n in ("big(1:5)", "big(2:9)", "small(0:1)")] == [["5"], ["9"], ["1"]]
    assert nodes["small(1:5)"].phase is TaskState.SKIPPED


def test_workflow_failures_lists_every_failed_or_errored_node(tmp_path):
    """``operator.go`` ``setGlobalParameters`` lists every node in Failed or Error (the failed DAG too, a Skipped
    node in Error too), each with a pod name generated from its name and template, in the map's (random) order."""
    run = run_manifest(FAIL_FAST.replace("FAILFAST", "failFast: false"), tmp_path)
    report = (tmp_path / "pods" / run.exit_node.pod / "stdout.log").read_text()
    failures = {f["displayName"]: f for f in json.loads(report.split(" ", 1)[1])}
    assert set(failures) == {"bad", "ff"}
    assert failures["ff"]["podName"] == "ff" and failures["ff"]["templateName"] == "main"
    assert failures["bad"]["podName"] == by_display(run)["bad"].pod  # type: ignore[attr-defined]
