"""Step/task ``onExit`` and lifecycle ``hooks`` (``hooks.go``, ``exit_handler.go``, ``steps.go``, ``dag.go``,
``operator.go``): node names, when hooks fire, what their failure does (nothing to the parent), and what they see."""

from __future__ import annotations

import pytest
import yaml
from flowyard.runs import TaskState
from flowyard_argo.executor.versions import argo_version
from flowyard_argo.executor.workflow import ManifestError, prepare

from .conftest import argv_of, by_display, needs_namespaces, run_manifest

VERSIONS = ["3.6.19", "3.7.9", "4.1.2"]

TEMPLATES = """
  - name: echo
    inputs: {parameters: [{name: m, default: ""}]}
    container:
      image: python:3.12-alpine
      command: [python, -c, "import json, sys; print(json.dumps(sys.argv[1:]))", "{{inputs.parameters.m}}"]
  - name: say
    inputs: {parameters: [{name: m}]}
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out.txt}}]}
    script:
      image: python:3.12
      command: [python]
      source: |
        open("/tmp/out.txt", "w").write("{{inputs.parameters.m}}")
  - name: fail
    container: {image: python:3.12, command: [python, -c, "raise SystemExit(3)"]}
"""

STEP_EXIT = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: stepexit}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: broken
        template: fail
        continueOn: {failed: true}
        hooks:
          exit:
            template: echo
            arguments: {parameters: [{name: m, value: "broken is {{steps.broken.status}}"}]}
      - name: fine
        template: say
        arguments: {parameters: [{name: m, value: made}]}
        onExit: fail
    - - name: after
        template: echo
        arguments: {parameters: [{name: m, value: "{{steps.fine.outputs.parameters.out}}"}]}
"""
    + TEMPLATES
)


@needs_namespaces
@pytest.mark.parametrize("version", VERSIONS)
def test_step_exit_handlers_see_the_status_and_never_fail_the_parent(tmp_path, version):
    run = run_manifest(STEP_EXIT, tmp_path, version)
    nodes = by_display(run)
    broken, fine = nodes["broken"], nodes["fine"]
    assert broken.phase is TaskState.FAILED and fine.phase is TaskState.SUCCEEDED
    assert argv_of(nodes["broken.onExit"], tmp_path) == ["broken is Failed"]
    assert nodes["broken.onExit"].name == "stepexit[0].broken.onExit"
    assert nodes["broken.onExit"].id in broken.children and nodes["broken.onExit"].hooked
    assert nodes["fine.onExit"].id in fine.children and nodes["fine.onExit"].phase is TaskState.FAILED
    # steps.go executeStepGroup decides the group from its children only: the failed exit handler changes nothing
    assert run.phase is TaskState.SUCCEEDED, run.message
    assert argv_of(nodes["after"], tmp_path) == ["made"]
    # the next group starts only once the exit handlers are done
    assert nodes["after"].started_at >= nodes["fine.onExit"].finished_at
    assert run.tree.nodes[nodes["broken.onExit"].id].to_json()["nodeFlag"] == {"hooked": True}


DAG_EXIT = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: dagexit}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: A
        template: say
        arguments: {parameters: [{name: m, value: a}]}
        hooks:
          exit:
            template: echo
            arguments: {parameters: [{name: m, value: "{{tasks.A.status}} {{tasks.A.outputs.parameters.out}}"}]}
      - name: B
        depends: A
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withItems: [x, y]
        onExit: fail
"""
    + TEMPLATES
)


@needs_namespaces
@pytest.mark.parametrize("version", VERSIONS)
def test_task_exit_handlers_run_before_dependents_and_per_loop_item(tmp_path, version):
    run = run_manifest(DAG_EXIT, tmp_path, version)
    nodes = by_display(run)
    assert argv_of(nodes["A.onExit"], tmp_path) == ["Succeeded a"]
    assert nodes["A.onExit"].id in nodes["A"].children
    # dag.go: a dependent waits for CheckAllHooksFullfilled on its dependency
    first_item = min(nodes["B(0:x)"].started_at, nodes["B(1:y)"].started_at)
    assert first_item >= nodes["A.onExit"].finished_at
    # processTask runs each item's exit hook; executeDAGTask the TaskGroup's, once the group completed
    for item in ("B(0:x)", "B(1:y)", "B"):
        exit_node = nodes[f"{item}.onExit"]
        assert exit_node.name == f"dagexit.{item}.onExit" and exit_node.phase is TaskState.FAILED
        assert exit_node.id in nodes[item].children
    assert nodes["B.onExit"].started_at >= max(nodes[f"B({i}).onExit"].finished_at for i in ("0:x", "1:y"))
    # exit nodes are no target tasks: assessDAGPhase ignores their phase
    assert run.phase is TaskState.SUCCEEDED, run.message


HOOKS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: lifecycle}
spec:
  entrypoint: main
  hooks:
    started: {expression: 'workflow.status == "Running"', template: echo, arguments: {parameters: [{name: m, value: "{{workflow.status}}"}]}}
    failed: {expression: 'workflow.status == "Failed"', template: echo}
    exit: {template: echo, arguments: {parameters: [{name: m, value: "exit {{workflow.status}}"}]}}
  templates:
  - name: main
    steps:
    - - name: s
        template: say
        arguments: {parameters: [{name: m, value: said}]}
        hooks:
          running: {expression: 'steps.s.status == "Running"', template: fail}
          pending: {expression: 'steps["s"].status == "Pending"', template: echo}
          done:
            expression: 'steps.s.status == "Succeeded"'
            template: echo
            arguments: {parameters: [{name: m, value: "{{steps.s.outputs.parameters.out}}"}]}
          failed: {expression: 'steps.s.status == "Failed"', template: echo}
"""
    + TEMPLATES
)


@needs_namespaces
@pytest.mark.parametrize("version", VERSIONS)
def test_expression_hooks_fire_once_per_state_and_leave_the_phase_alone(tmp_path, version):
    run = run_manifest(HOOKS, tmp_path, version)
    nodes = by_display(run)
    step = nodes["s"]
    hooked = {n.display_name: n for n in run.tree.nodes.values() if n.hooked}
    assert set(hooked) == {
        "s.hooks.pending",
        "s.hooks.running",
        "s.hooks.done",
        "lifecycle.hooks.started",
        "lifecycle.onExit",
    }
    assert hooked["s.hooks.done"].name == "lifecycle[0].s.hooks.done"
    assert {hooked[f"s.hooks.{h}"].id for h in ("pending", "running", "done")} <= set(step.children)
    assert argv_of(hooked["s.hooks.done"], tmp_path) == ["said"]
    # a failing hook does not change its step's phase nor the workflow's (hooks.go; operator.go operate)
    assert hooked["s.hooks.running"].phase is TaskState.FAILED
    assert step.phase is TaskState.SUCCEEDED and run.phase is TaskState.SUCCEEDED, run.message
    started = hooked["lifecycle.hooks.started"]
    assert started.id in run.root.children and argv_of(started, tmp_path) == ["Running"]
    assert run.exit_node is not None and argv_of(run.exit_node, tmp_path) == ["exit Succeeded"]


def test_a_hook_without_an_expression_is_refused_before_anything_runs():
    doc = yaml.safe_load(HOOKS)
    del doc["spec"]["templates"][0]["steps"][0][0]["hooks"]["done"]["expression"]
    with pytest.raises(ManifestError) as caught:
        prepare(doc, argo_version("4.1.2"), source="hooks.yaml")
    assert "templates.main.steps[0].s.done Expression required" in str(caught.value)
    assert "validateHooks" in str(caught.value)


def test_a_hook_naming_a_missing_template_is_refused():
    doc = yaml.safe_load(HOOKS)
    doc["spec"]["hooks"]["exit"]["template"] = "nowhere"
    with pytest.raises(ManifestError) as caught:
        prepare(doc, argo_version("4.1.2"), source="hooks.yaml")
    assert "spec.hooks.exit" in str(caught.value) and "template name 'nowhere' undefined" in str(caught.value)


BAD_HOOKS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: badhooks}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: inner, template: dag}
  - name: dag
    dag:
      tasks:
      - name: t
        template: echo
        hooks: {late: {template: echo}}
  - name: steps
    steps:
    - - name: s
        template: echo
        hooks: {odd: {expression: 'steps.s.status > 1', template: echo}}
"""
    + TEMPLATES
)


@needs_namespaces
def test_a_task_hook_without_an_expression_errors_its_node_at_run_time(tmp_path):
    # validate.go validateHooks checks steps' hooks only; hooks.go refuses a DAG task's when it evaluates it
    run = run_manifest(BAD_HOOKS, tmp_path)
    task = by_display(run)["t"]
    assert (
        task.phase is TaskState.ERROR and task.message == "Expression required for hook badhooks[0].inner.t.hooks.late"
    )
    assert run.phase is TaskState.ERROR


@needs_namespaces
def test_a_hook_expression_that_cannot_be_evaluated_errors_the_step_group(tmp_path):
    run = run_manifest(BAD_HOOKS, tmp_path, entrypoint="steps")
    group = by_display(run)["[0]"]
    assert group.phase is TaskState.ERROR and "steps.s.status > 1" in group.message
    assert run.phase is TaskState.ERROR
    assert not any(n.hooked for n in run.tree.nodes.values())


ERRORED_AND_RETRIED = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: edge}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - name: broken
        template: echo
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withParam: "not json"
        onExit: echo
      - name: retried
        template: flaky
        hooks:
          exit:
            template: echo
            arguments: {parameters: [{name: m, value: "{{tasks.retried.status}} {{tasks.retried.outputs.parameters.out}}"}]}
  - name: flaky
    retryStrategy: {limit: 1}
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out.txt}}]}
    script:
      image: python:3.12
      command: [python]
      source: |
        import os, sys
        open("/tmp/out.txt", "w").write("tried")
        sys.exit(5)
"""
    + TEMPLATES
)


@needs_namespaces
@pytest.mark.parametrize("version", VERSIONS)
def test_an_errored_task_and_a_retried_one_get_their_exit_hooks(tmp_path, version):
    run = run_manifest(ERRORED_AND_RETRIED, tmp_path, version)
    nodes = by_display(run)
    broken = nodes["broken"]
    assert broken.phase is TaskState.ERROR and "withParam" in broken.message
    assert nodes["broken.onExit"].id in broken.children and nodes["broken.onExit"].phase is TaskState.SUCCEEDED
    retried = nodes["retried"]
    assert retried.type == "Retry" and retried.phase is TaskState.FAILED
    exit_node = nodes["retried.onExit"]
    assert exit_node.id in retried.children  # the Retry node's, not an attempt's
    assert exit_node.id not in nodes["retried(0)"].children + nodes["retried(1)"].children
    assert argv_of(exit_node, tmp_path) == ["Failed tried"]


WATCHING = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: watching}
spec:
  entrypoint: main
  hooks:
    flagged: {expression: 'workflow.outputs?.parameters?.flag == "go"', template: note}
  templates:
  - name: main
    steps:
    - - {name: signal, template: signal}
      - name: long
        template: sleep
        hooks:
          seen: {expression: 'workflow.outputs?.parameters?.flag == "go"', template: note}
  - name: signal
    container: {image: busybox, command: [sh, -c, "sleep 1; echo go > /tmp/flag"]}
    outputs: {parameters: [{name: flag, globalName: flag, valueFrom: {path: /tmp/flag}}]}
  - name: sleep
    container: {image: busybox, command: [sleep, "6"]}
  - name: note
    container: {image: busybox, command: [echo, seen]}
"""


@needs_namespaces
def test_hook_expressions_are_evaluated_again_as_other_nodes_progress(tmp_path):
    """``operate`` evaluates every active node's hooks (``executeTmplLifeCycleHook``) and the workflow's
    (``executeWfLifeCycleHook``) at each reconciliation, which any node's change triggers: a hook on a global
    output another step sets fires once that step ends, while its own node still runs."""
    run = run_manifest(WATCHING, tmp_path)
    nodes = by_display(run)
    long, signal = nodes["long"], nodes["signal"]
    for hook in ("long.hooks.seen", "watching.hooks.flagged"):
        fired = nodes[hook]
        assert fired.started_at >= signal.finished_at - 0.05
        assert fired.started_at < long.finished_at - 2, hook  # while `long` still ran, not at its end
