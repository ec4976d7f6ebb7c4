"""What a DAG template's own ``failFast`` counts as a failed child: ``operator.go`` ``checkParallelism`` asks
``node_counters.go`` ``getUnsuccessfulChildren`` for the nodes whose boundary is the DAG, of type Pod, Steps or DAG,
Failed or Errored (the same in v3.6.19, v3.7.9 and v4.1.2). So a retried task's failed attempt counts (its pod's
boundary is the DAG, the Retry node is not counted), and the DAG starts nothing more, not the retry either: it ends
Failed with the Retry node left Running (argo-workflows 5398). A task that errors before it gets a pod (a node of type
Skipped, ``dag.go`` ``executeDAGTask``) does not count.
"""

from __future__ import annotations

import pytest
from flowyard.runs import TaskState
from flowyard_argo.executor.dag import FAIL_FAST_MESSAGE

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces


def workflow(name: str, templates: str) -> str:
    """A Workflow running ``main`` among ``templates``, with the shared ones: ``quick``, ``slow`` (1.5 s), ``fail``
    and ``echo`` (an input ``v`` it needs)."""
    shared = (
        '  - name: quick\n    container: {image: python:3.12, command: [python, -c, "pass"]}\n'
        '  - name: slow\n    container: {image: python:3.12, command: [python, -c, "import time; time.sleep(1.5)"]}\n'
        '  - name: fail\n    container: {image: python:3.12, command: [python, -c, "raise SystemExit(1)"]}\n'
        "  - name: echo\n    inputs: {parameters: [{name: v}]}\n"
        '    container: {image: python:3.12, command: [python, -c, "pass", "{{inputs.parameters.v}}"]}\n'
    )
    head = f"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  entrypoint: main\n"
    return f"{head}  templates:\n{templates}{shared}"


RETRIED = workflow(
    "retried",
    """\
  - name: main
    FAILFAST
    dag:
      tasks:
      - {name: flaky, template: flaky}
      - {name: later, template: quick, depends: flaky}
  - name: flaky
    retryStrategy: {limit: 2}
    container:
      image: python:3.12
      command: [python, -c, "import sys; sys.exit(1 if sys.argv[1] == '0' else 0)", "{{retries}}"]
""",
)


def test_a_failed_attempt_stops_a_dag_whose_template_fails_fast(tmp_path) -> None:
    run = run_manifest(RETRIED.replace("FAILFAST", "failFast: true"), tmp_path)
    nodes = by_display(run)
    assert run.phase is TaskState.FAILED
    assert nodes["retried"].message == FAIL_FAST_MESSAGE  # type: ignore[attr-defined]
    flaky = nodes["flaky"]
    assert flaky.phase is TaskState.RUNNING  # type: ignore[attr-defined]  # never advanced again
    assert nodes["flaky(0)"].phase is TaskState.FAILED  # type: ignore[attr-defined]
    assert "flaky(1)" not in nodes
    assert "later" not in nodes


def test_without_the_templates_fail_fast_the_retry_succeeds(tmp_path) -> None:
    run = run_manifest(RETRIED.replace("FAILFAST", "failFast: false"), tmp_path)
    nodes = by_display(run)
    assert run.phase is TaskState.SUCCEEDED, run.message
    assert [nodes[f"flaky({n})"].phase for n in (0, 1)] == [TaskState.FAILED, TaskState.SUCCEEDED]  # type: ignore[attr-defined]
    assert "flaky(2)" not in nodes
    assert nodes["later"].phase is TaskState.SUCCEEDED  # type: ignore[attr-defined]


ERRORED_BEFORE_ITS_POD = workflow(
    "errored",
    """\
  - name: main
    failFast: true
    dag:
      tasks:
      - {name: a, template: quick}
      - name: broken
        template: echo
        depends: a
        arguments: {parameters: [{name: v, value: "{{tasks.a.outputs.parameters.nope}}"}]}
      - {name: later, template: quick, depends: a}
""",
)


def test_a_task_that_errors_before_its_pod_does_not_stop_the_dag(tmp_path) -> None:
    run = run_manifest(ERRORED_BEFORE_ITS_POD, tmp_path)
    nodes = by_display(run)
    assert nodes["broken"].phase is TaskState.ERROR and nodes["broken"].type == "Skipped"  # type: ignore[attr-defined]
    assert nodes["later"].phase is TaskState.SUCCEEDED  # type: ignore[attr-defined]
    assert run.phase is TaskState.ERROR


ARGUMENTS_MISSING = workflow(
    "missing",
    """\
  - name: main
    failFast: true
    dag:
      tasks:
      - {name: broken, template: echo}
      - {name: slow, template: slow}
      - {name: later, template: quick, depends: slow}
""",
)


def test_a_template_whose_arguments_fail_errors_before_its_node_and_is_not_counted(tmp_path) -> None:
    """``executeTemplate``: ``ProcessArgs`` fails before the node exists, so ``initializeNodeOrMarkError`` makes a
    Skipped node in Error (no pod), which ``getUnsuccessfulChildren`` does not count."""
    run = run_manifest(ARGUMENTS_MISSING, tmp_path)
    nodes = by_display(run)
    broken = nodes["broken"]
    assert broken.phase is TaskState.ERROR and broken.type == "Skipped"  # type: ignore[attr-defined]
    assert "inputs.parameters.v was not supplied" in broken.message  # type: ignore[attr-defined]
    assert nodes["later"].phase is TaskState.SUCCEEDED  # type: ignore[attr-defined]


FAILED_EXIT_HOOK = workflow(
    "hooked",
    """\
  - name: main
    failFast: true
    dag:
      tasks:
      - {name: a, template: quick, hooks: {exit: {template: fail}}}
      - {name: slow, template: slow}
      - {name: later, template: quick, depends: slow}
""",
)


def test_a_failed_hook_of_a_task_stops_a_dag_whose_template_fails_fast(tmp_path) -> None:
    """``dag.go`` ``executeDAGTask`` runs a task's hooks (``runOnExitNode``, ``executeTmplLifeCycleHook``) with the
    DAG as their boundary: a failed hook pod is a failed child of the DAG, and it starts nothing more."""
    run = run_manifest(FAILED_EXIT_HOOK, tmp_path)
    nodes = by_display(run)
    assert nodes["a.onExit"].phase is TaskState.FAILED  # type: ignore[attr-defined]
    assert "later" not in nodes
    assert run.phase is TaskState.FAILED


@pytest.mark.parametrize("policy", ["OnFailure", "Always"])
def test_a_retried_template_whose_arguments_fail_errors_once_before_its_retry_node(tmp_path, policy) -> None:
    """``executeTemplate`` runs ``ProcessArgs`` before it makes the Retry node: one Skipped node in Error, no
    attempt, whatever the retry policy."""
    manifest = ARGUMENTS_MISSING.replace(
        "  - name: echo\n", f"  - name: echo\n    retryStrategy: {{limit: 2, retryPolicy: {policy}}}\n"
    )
    run = run_manifest(manifest, tmp_path)
    nodes = by_display(run)
    assert nodes["broken"].type == "Skipped" and nodes["broken"].phase is TaskState.ERROR  # type: ignore[attr-defined]
    assert not [name for name in nodes if name.startswith("broken(")]


HOOK_ON_AN_ARGUMENT_ERROR = workflow(
    "hook-args",
    """\
  - name: main
    dag:
      tasks:
      - name: broken
        template: echo
        hooks:
          running: {expression: 'tasks.broken.status == "Running"', template: quick}
""",
)


def test_a_node_whose_arguments_fail_is_never_seen_running_by_its_hooks(tmp_path) -> None:
    run = run_manifest(HOOK_ON_AN_ARGUMENT_ERROR, tmp_path)
    nodes = by_display(run)
    assert nodes["broken"].phase is TaskState.ERROR  # type: ignore[attr-defined]
    assert "broken.hooks.running" not in nodes


EXIT_HOOK_OF_A_FAILED_TASK = workflow(
    "hooked",
    """\
  - name: main
    FAILFAST
    dag:
      tasks:
      - {name: a, template: fail, hooks: {exit: {template: quick}}}
      - {name: slow, template: slow}
""",
)


def test_no_hook_starts_in_a_dag_stopped_by_its_fail_fast(tmp_path) -> None:
    """A task's hooks run from ``executeDAGTask``, which a stopped DAG no longer reaches (``checkParallelism``
    returns before ``executeDAG``): the failed task's exit hook never runs; without ``failFast`` it does."""
    stopped = by_display(run_manifest(EXIT_HOOK_OF_A_FAILED_TASK.replace("FAILFAST", "failFast: true"), tmp_path / "a"))
    assert "a.onExit" not in stopped
    going_on = by_display(run_manifest(EXIT_HOOK_OF_A_FAILED_TASK.replace("FAILFAST", ""), tmp_path / "b"))
    assert going_on["a.onExit"].phase is TaskState.SUCCEEDED  # type: ignore[attr-defined]
