"""Expressions outside tags, run through the executor: an output parameter's ``valueFrom.expression``, an output
artifact's ``fromExpression`` (``workflow/controller/scope.go`` ``resolveParameter``, ``resolveArtifact``), and
``retryStrategy.expression`` (``operator.go`` ``processNodeRetries``, ``buildRetryStrategyLocalScope``), each as
Argo's examples use them (``conditional-parameters.yaml``, ``dag-conditional-artifacts.yaml``,
``retry-conditional.yaml``), with the coin fixed so the run is deterministic."""

from __future__ import annotations

import pytest

from .conftest import by_display, needs_namespaces, run_manifest

CONDITIONAL = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: conditional}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flip-coin, template: flip-coin}
      - {name: heads, template: side, depends: flip-coin, when: "{{tasks.flip-coin.outputs.result}} == heads",
         arguments: {parameters: [{name: side, value: heads}]}}
      - {name: tails, template: side, depends: flip-coin, when: "{{tasks.flip-coin.outputs.result}} == tails",
         arguments: {parameters: [{name: side, value: tails}]}}
    outputs:
      parameters:
      - name: stepresult
        valueFrom:
          expression: "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result"
      - name: fallback
        valueFrom:
          expression: "tasks.tails.outputs.parameters.said ?? 'none'"
          default: from-default
      artifacts:
      - name: result
        fromExpression: "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.artifacts.result : tasks.tails.outputs.artifacts.result"
  - name: flip-coin
    script: {image: python:3.12, command: [python], source: "print('heads')"}
  - name: side
    inputs: {parameters: [{name: side}]}
    script:
      image: python:3.12
      command: [python]
      workingDir: /work
      source: "open('/work/result.txt', 'w').write('it was {{inputs.parameters.side}}'); print('{{inputs.parameters.side}}!')"
    outputs:
      artifacts: [{name: result, path: /work/result.txt}]
      parameters: [{name: said, valueFrom: {path: /work/result.txt}}]
"""


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_output_expressions_choose_the_branch_that_ran(tmp_path, version):
    run = run_manifest(CONDITIONAL, tmp_path, version)
    assert run.phase.value == "Succeeded", run.message
    outputs = run.root.outputs
    params = {p["name"]: p["value"] for p in outputs["parameters"]}
    # the skipped task's declared output: v4 keeps it as nil (addSkippedNodeOutputsToScope), so ?? falls back; 3.x
    # has no such key, fetching from the missing outputs fails and the parameter's default applies
    assert params == {"stepresult": "heads!", "fallback": "none" if version == "4.1.2" else "from-default"}
    (artifact,) = outputs["artifacts"]
    assert artifact["name"] == "result"
    heads = by_display(run)["heads"]
    assert artifact["_local"].startswith(str(tmp_path / "artifacts" / heads.id))  # type: ignore[attr-defined]


RETRY = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: retrying}
spec:
  entrypoint: main
  arguments: {parameters: [{name: stop-at, value: "2"}]}
  templates:
  - name: main
    steps:
    - - {name: retry, template: flaky, arguments: {parameters: [{name: stop-at, value: "{{workflow.parameters.stop-at}}"}]}}
  - name: flaky
    inputs: {parameters: [{name: stop-at}]}
    retryStrategy:
      limit: "10"
      expression: "asInt(retries) < {{inputs.parameters.stop-at}} && asInt(lastRetry.exitCode) == 3 && lastRetry.status == 'Failed' && asInt(lastRetry.duration) < 120"
    container: {image: python:3.12, command: [python, -c, "raise SystemExit(3)"]}
"""


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_retry_expression_stops_retrying_once_false(tmp_path, version):
    """No ``retryPolicy`` with an expression means ``Always``; ``retries`` counts from 0; the stop is named."""
    run = run_manifest(RETRY, tmp_path, version)
    nodes = by_display(run)
    assert [name for name in nodes if name.startswith("retry(")] == ["retry(0)", "retry(1)", "retry(2)"]
    assert nodes["retry"].message == "retryStrategy.expression evaluated to false"  # type: ignore[attr-defined]
    assert run.phase.value == "Failed"


@needs_namespaces
def test_a_retry_expression_that_cannot_be_evaluated_errors_the_node_by_name(tmp_path):
    run = run_manifest(RETRY.replace("asInt(retries) <", "asInt(lastRetry.message) <"), tmp_path)
    message = by_display(run)["retry"].message  # type: ignore[attr-defined]
    assert (
        message.startswith("unable to evaluate expression")
        and "invalid operation: int(main: Error (exit code 3))" in message
    )
    assert run.phase.value == "Error"


ARGUMENT = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: argument}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: write, arguments: {parameters: [{name: text, value: from-a}]}}
      - {name: b, template: write, arguments: {parameters: [{name: text, value: from-b}]}}
    - - name: read
        template: read
        arguments:
          artifacts:
          - name: doc
            fromExpression: "steps.a.outputs.result == 'from-a' ? steps.b.outputs.artifacts.out : steps.a.outputs.artifacts.out"
  - name: write
    inputs: {parameters: [{name: text}]}
    script:
      image: python:3.12
      command: [python]
      workingDir: /work
      source: "open('/work/out.txt', 'w').write('{{inputs.parameters.text}}'); print('{{inputs.parameters.text}}')"
    outputs: {artifacts: [{name: out, path: /work/out.txt}]}
  - name: read
    inputs: {artifacts: [{name: doc, path: /in/doc.txt}]}
    container: {image: python:3.12, command: [python, -c, "print(open('/in/doc.txt').read())"]}
"""


@needs_namespaces
def test_an_argument_artifact_from_an_expression(tmp_path):
    run = run_manifest(ARGUMENT, tmp_path)
    assert run.phase.value == "Succeeded", run.message
    read = by_display(run)["read"]
    assert (tmp_path / "pods" / read.pod / "stdout.log").read_text() == "from-b\n"  # type: ignore[attr-defined]
    failing = ARGUMENT.replace("steps.b.outputs.artifacts.out :", "steps.b.outputs.result :")
    run = run_manifest(failing, tmp_path / "again")
    assert run.phase.value == "Error"
    assert "is not an artifact" in by_display(run)["read"].message  # type: ignore[attr-defined]
