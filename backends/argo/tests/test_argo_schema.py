"""The offline Argo checks themselves: strictness, widening, cross-references, pinned schema files."""

from __future__ import annotations

import copy
import hashlib

import pytest

from .argo_schema import SCHEMA_FILE, SWAGGER_FILE, schema_errors, semantic_errors, upstream

# The seed's variant 1 as an Argo DAG, written the way Argo's docs write it.
SEQUENTIAL = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "activator-processor-sequential-"},
    "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "message", "value": '{"msg":"activator run"}'}]},
        "templates": [
            {
                "name": "main",
                "dag": {
                    "tasks": [
                        {
                            "name": "activator",
                            "template": "activator",
                            "arguments": {
                                "parameters": [{"name": "message", "value": "{{workflow.parameters.message}}"}]
                            },
                        },
                        {
                            "name": "processor",
                            "template": "processor",
                            "depends": "activator",
                            "arguments": {
                                "artifacts": [{"name": "event", "from": "{{tasks.activator.outputs.artifacts.event}}"}]
                            },
                        },
                    ]
                },
            },
            {
                "name": "activator",
                "inputs": {"parameters": [{"name": "message"}]},
                "container": {
                    "image": "nasa-hsi",
                    "command": ["activator"],
                    "args": ["{{inputs.parameters.message}}"],
                    "workingDir": "/workdir",
                    "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
                },
                "outputs": {"artifacts": [{"name": "event", "path": "/workdir/activator_event.json"}]},
                "retryStrategy": {"limit": 2},
            },
            {
                "name": "processor",
                "inputs": {"artifacts": [{"name": "event", "path": "/workdir/activator_event.json"}]},
                "container": {"image": "nasa-hsi", "command": ["processor"], "workingDir": "/workdir"},
                "outputs": {"artifacts": [{"name": "event", "path": "/workdir/processor_event.json"}]},
            },
        ],
    },
}


def test_a_valid_manifest_passes_both_checks() -> None:
    assert schema_errors(SEQUENTIAL) == []
    assert semantic_errors(SEQUENTIAL) == []


def mutate(path: str, value: object) -> dict:
    doc = copy.deepcopy(SEQUENTIAL)
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("spec.templates.0.dag.tasks.1.withParm", "x", "'withParm' was unexpected"),
        ("spec.parallelism", "two", "'two' is not of type 'integer'"),
        ("spec.templates.1.container.args", "oops", "is not of type 'array'"),
        ("spec.entrypoint", 5, "5 is not of type 'string'"),
        ("spec", KeyError, "'spec' is a required property"),
    ],
)
def test_strict_schema_catches_what_the_published_one_lets_through(path, value, expected) -> None:
    errors = schema_errors(mutate(path, value))
    assert any(expected in e for e in errors), errors


def test_integers_the_controller_accepts_are_accepted() -> None:
    doc = mutate("spec.templates.1.retryStrategy", {"limit": 3})  # an integer, as hera emits it
    assert schema_errors(doc) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("spec.templates.0.dag.tasks.1.template", "procesor", "no template named 'procesor'"),
        ("spec.templates.0.dag.tasks.1.depends", "activatr", "no task named 'activatr'"),
        ("spec.entrypoint", "mian", "spec.entrypoint: no template named 'mian'"),
        ("spec.templates.0.dag.tasks.0.arguments", {}, "missing parameter 'message'"),
        ("spec.templates.0.dag.tasks.1.arguments", {}, "missing artifact 'event'"),
        (
            "spec.templates.0.dag.tasks.1.arguments",
            {"artifacts": [{"name": "event", "from": "{{tasks.activator.outputs.artifacts.evnt}}"}]},
            "task 'activator' has no output artifact 'evnt'",
        ),
        (
            "spec.templates.0.dag.tasks.0.arguments",
            {"parameters": [{"name": "message", "value": "{{workflow.parameters.mesage}}"}]},
            "{{workflow.parameters.mesage}} is not in spec.arguments.parameters",
        ),
        (
            "spec.templates.0.dag.tasks.0.arguments",
            {"parameters": [{"name": "message", "value": "{{item}}"}]},
            "uses {{item}} but has no withItems/withParam",
        ),
        ("spec.templates.1.container.args", ["{{inputs.parameters.mesage}}"], "is not an input of the template"),
    ],
)
def test_semantic_pass_catches_dangling_references(path, value, expected) -> None:
    doc = mutate(path, value)
    assert schema_errors(doc) == []  # the schema alone cannot see these
    assert any(expected in e for e in semantic_errors(doc)), semantic_errors(doc)


def test_the_schema_files_are_the_pinned_upstream_copies() -> None:
    digests = {p.name: hashlib.sha256(upstream(p).read_bytes()).hexdigest() for p in (SCHEMA_FILE, SWAGGER_FILE)}
    assert digests == {
        "schema.json": "3f84c5722c48a5aa815fe69119a9375fc3635114f8046da20ede55a8596529f5",
        "swagger.json": "c75ea5e10cbca5a251019c0f5dafef98449551562403e9e903a53db985d5e6b8",
    }


def test_with_items_rows_must_have_every_key_the_task_reads() -> None:
    doc = mutate("spec.templates.0.dag.tasks.0.withItems", [{"f0": "a"}, {"other": "b"}])
    doc["spec"]["templates"][0]["dag"]["tasks"][0]["arguments"]["parameters"][0]["value"] = "{{item.f0}}"
    assert any("has no key 'f0'" in e for e in semantic_errors(doc)), semantic_errors(doc)


def _wf(spec: dict) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "w-"}, "spec": spec}


VALID_INPUTS = {
    "templateRef task": _wf(
        {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {"tasks": [{"name": "a", "templateRef": {"name": "lib", "template": "echo"}}]},
                }
            ],
        }
    ),
    "inline task": _wf(
        {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {
                                "name": "a",
                                "inline": {
                                    "inputs": {"parameters": [{"name": "m"}]},
                                    "container": {"image": "alpine", "command": ["echo", "{{inputs.parameters.m}}"]},
                                },
                                "arguments": {"parameters": [{"name": "m", "value": "hi"}]},
                            }
                        ]
                    },
                }
            ],
        }
    ),
    "workflowTemplateRef": _wf({"workflowTemplateRef": {"name": "lib"}, "entrypoint": "whatever-it-has"}),
    "workflow.parameters.json": _wf(
        {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "a", "value": "1"}]},
            "templates": [
                {"name": "main", "container": {"image": "alpine", "command": ["echo", "{{workflow.parameters.json}}"]}}
            ],
        }
    ),
    "supplied by an event binding": _wf(
        {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {"tasks": [{"name": "a", "template": "wait"}]},
                },
                {
                    "name": "wait",
                    "inputs": {"parameters": [{"name": "approve", "valueFrom": {"supplied": {}}}]},
                    "suspend": {},
                },
            ],
        }
    ),
}


@pytest.mark.parametrize("name", list(VALID_INPUTS))
def test_the_reference_checker_accepts_valid_manifests_it_may_meet(name: str) -> None:
    doc = VALID_INPUTS[name]
    assert semantic_errors(doc) == []
    assert schema_errors(doc) == []
