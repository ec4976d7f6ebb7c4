"""Pre-flight validation: invalid manifests re-expressed from the cases of upstream's validate_test.go and
validate_dag_test.go, each refused with the controller's message, the rule and the path."""

from __future__ import annotations

import pytest
import yaml
from flowyard_argo.executor.validate import validate_workflow
from flowyard_argo.executor.versions import argo_version

ALL = ["3.6.19", "3.7.9", "4.1.2"]


def wf(templates: str, entrypoint: str = "main", name: str = "wf") -> dict:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"entrypoint": entrypoint, "templates": yaml.safe_load(templates)},
    }
    return doc


def with_arguments(params: list) -> dict:
    doc = wf("- {name: leaf, container: {image: alpine, command: [true]}}\n", entrypoint="leaf")
    doc["spec"]["arguments"] = {"parameters": params}
    return doc


LEAF = "- {name: leaf, container: {image: alpine, command: [true]}}\n"

CASES = [
    (
        "undefined step template",
        wf("- name: main\n  steps: [[{name: a, template: nope}]]\n" + LEAF),
        "templates.main.steps[0].a template name 'nope' undefined",
        "validateTemplateHolder",
        "spec.templates[0].steps[0][0]",
    ),
    (
        "undefined entrypoint",
        wf(LEAF, entrypoint="missing"),
        "template name 'missing' undefined",
        "validateTemplateHolder",
        "spec.entrypoint",
    ),
    (
        "no entrypoint",
        wf(LEAF, entrypoint=""),
        "spec.entrypoint is required",
        "validate.go Workflow",
        "spec.entrypoint",
    ),
    (
        "dag cycle",
        wf(
            "- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf, dependencies: [C]}\n"
            "    - {name: B, template: leaf, dependencies: [A]}\n    - {name: C, template: leaf, dependencies: [B]}\n"
            + LEAF
        ),
        "templates.main sorting failed: graph with cycle",
        "sortDAGTasks",
        "spec.templates[0].dag.tasks",
    ),
    (
        "undefined dependency",
        wf("- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf, dependencies: [Z]}\n" + LEAF),
        "templates.main sorting failed: invalid dependency Z",
        "sortDAGTasks",
        "spec.templates[0].dag.tasks",
    ),
    (
        "continueOn with depends",
        wf(
            "- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf, continueOn: {failed: true}}\n"
            "    - {name: B, template: leaf, depends: A}\n" + LEAF
        ),
        "templates.main cannot use 'continueOn' when using 'depends'. Instead use 'dep-task.Failed'/'dep-task.Errored'",
        "validateDAG",
        "spec.templates[0].dag.tasks[0].continueOn",
    ),
    (
        "depends and dependencies",
        wf(
            "- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf}\n"
            "    - {name: B, template: leaf, depends: A}\n    - {name: C, template: leaf, dependencies: [A]}\n" + LEAF
        ),
        "templates.main cannot use both 'depends' and 'dependencies' in the same DAG template",
        "validateDAG",
        "spec.templates[0].dag.tasks[2].dependencies",
    ),
    (
        "task name begins with a digit",
        wf(
            "- name: main\n  dag:\n    tasks:\n    - {name: 5A, template: leaf}\n"
            "    - {name: B, template: leaf, depends: 5A}\n" + LEAF
        ),
        "templates.main.tasks.5A name cannot begin with a digit when using either 'depends' or 'dependencies'",
        "validateDAG",
        "spec.templates[0].dag.tasks[0].name",
    ),
    (
        "unknown task result",
        wf(
            "- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf}\n"
            "    - {name: B, template: leaf, depends: A.Finished}\n" + LEAF
        ),
        "templates.main.tasks.B task result 'Finished' for task 'A' is invalid",
        "ValidateTaskResults",
        "spec.templates[0].dag.tasks[1].depends",
    ),
    (
        "undefined target",
        wf("- name: main\n  dag:\n    target: DOESNTEXIST\n    tasks:\n    - {name: A, template: leaf}\n" + LEAF),
        "templates.main.targets: target 'DOESNTEXIST' is not defined",
        "validateDAGTargets",
        "spec.templates[0].dag.target",
    ),
    (
        "template type unspecified",
        wf("- name: main\n  inputs: {}\n"),
        "templates.main template type unspecified",
        "validateTemplateType",
        "spec.templates[0]",
    ),
    (
        "two template types",
        wf("- name: main\n  container: {image: alpine}\n  script: {image: alpine, source: x}\n"),
        "templates.main multiple template types specified",
        "validateTemplateType",
        "spec.templates[0]",
    ),
    (
        "duplicate template",
        wf(LEAF + LEAF, entrypoint="leaf"),
        "[1].name 'leaf' is not unique",
        "validateWorkflowFieldNames",
        "spec.templates[1].name",
    ),
    (
        "invalid template name",
        wf("- {name: a_b, container: {image: alpine}}\n", entrypoint="a_b"),
        "[0].name: 'a_b' is invalid: name must consist of alpha-numeric characters or '-'",
        "validateWorkflowFieldNames",
        "spec.templates[0].name",
    ),
    (
        "workflow name too long",
        wf(LEAF, entrypoint="leaf", name="w" * 64),
        f'workflow name "{"w" * 64}" must not be more than 63 characters long (currently 64)',
        "validate.go Workflow",
        "metadata.name",
    ),
    (
        "step name not unique",
        wf("- name: main\n  steps: [[{name: a, template: leaf}], [{name: a, template: leaf}]]\n" + LEAF),
        "templates.main.steps[1].name 'a' is not unique",
        "validateSteps",
        "spec.templates[0].steps[1][0]",
    ),
    (
        "empty dag",
        wf("- name: main\n  dag: {tasks: []}\n"),
        "templates.main must have at least one task",
        "validateDAG",
        "spec.templates[0].dag.tasks",
    ),
    (
        "argument not in enum",
        with_arguments([{"name": "mode", "value": "slow", "enum": ["fast", "safe"]}]),
        "spec.arguments.mode.value should be present in spec.arguments.mode.enum list",
        "validateArgumentsValues",
        "spec.arguments.parameters[0]",
    ),
    (
        "argument without a value",
        with_arguments([{"name": "mode"}]),
        "spec.arguments.mode.value or spec.arguments.mode.valueFrom is required",
        "validateArgumentsValues",
        "spec.arguments.parameters[0]",
    ),
]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(("case", "doc", "message", "rule", "path"), CASES, ids=[c[0] for c in CASES])
def test_invalid_manifest_refused_with_rule_and_path(case, doc, message, rule, path, version):
    problems = validate_workflow(doc, argo_version(version))
    assert problems, case
    first = problems[0]
    assert message in first.message
    assert rule in first.rule
    assert first.path == path
    assert first.render("wf.yaml").startswith(f"wf.yaml: {path}: ")


def many_tasks(n: int) -> dict:
    tasks = "".join(f"    - {{name: t{i}, template: leaf}}\n" for i in range(n))
    return wf("- name: main\n  dag:\n    tasks:\n" + tasks + LEAF)


def test_v4_crd_caps_tasks_at_200_and_v3_does_not():
    assert validate_workflow(many_tasks(200), argo_version("4.1.2")) == []
    (problem,) = validate_workflow(many_tasks(201), argo_version("4.1.2"))
    assert problem.message == "Too many: 201: must have at most 200 items"
    assert problem.path == "spec.templates[0].dag.tasks"
    assert validate_workflow(many_tasks(201), argo_version("3.7.9")) == []


def test_v4_crd_caps_templates_at_200():
    templates = "".join(f"- {{name: t{i}, container: {{image: alpine}}}}\n" for i in range(201))
    problems = validate_workflow(wf(templates, entrypoint="t0"), argo_version("4.1.2"))
    assert [p.path for p in problems] == ["spec.templates"]
    assert validate_workflow(wf(templates, entrypoint="t0"), argo_version("3.6.19")) == []


def test_valid_manifest_passes():
    doc = wf(
        "- name: main\n  dag:\n    tasks:\n    - {name: A, template: leaf}\n    - {name: B, template: leaf, depends: A.Succeeded || A.Failed}\n"
        + LEAF
    )
    assert validate_workflow(doc, argo_version("4.1.2")) == []


@pytest.mark.parametrize("version", ALL)
def test_kind_name_limits(version):
    from flowyard_argo.executor.validate import validate_kind

    cron = {"kind": "CronWorkflow", "metadata": {"name": "c" * 53}}
    (problem,) = validate_kind(cron)
    assert problem.message == f'cron workflow name "{"c" * 53}" must not be more than 52 characters long (currently 53)'
    assert problem.rule == "validate.go CronWorkflow"
    assert validate_kind({"kind": "CronWorkflow", "metadata": {"name": "c" * 52}}) == []
    (problem,) = validate_kind({"kind": "WorkflowTemplate", "metadata": {"name": "t" * 64}})
    assert problem.message.startswith('workflow template name "')
