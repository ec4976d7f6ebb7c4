"""Checking Argo manifests offline: Argo's official JSON Schema, made strict, plus a semantic pass.

No cluster exists here, so compiled manifests are checked against Argo's own schema (v4.1.2), read
in place from the workspace's ``../shared/schemas/argo-workflows/`` (a test that needs it skips, saying
so, where that folder is absent). As published it accepts misspelt keys and rejects integers the controller accepts, so
the validator closes every object definition (``additionalProperties: false``) and widens
``IntOrString``/``Quantity``. The schema cannot see cross-references; :func:`semantic_errors` checks
that every referenced template, task, parameter and artifact exists.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

UPSTREAM = Path(__file__).resolve().parents[3].parent / "shared" / "schemas" / "argo-workflows"
SCHEMA_FILE = UPSTREAM / "schema.json"
SWAGGER_FILE = UPSTREAM / "swagger.json"


def upstream(path: Path) -> Path:
    """``path``, or a visible skip: Argo's published files are test data we read, never copy."""
    if not path.is_file():
        pytest.skip(f"{path} is absent (Argo v4.1.2's published schemas, read in place)")
    return path


KINDS = {
    "Workflow": "io.argoproj.workflow.v1alpha1.Workflow",
    "WorkflowTemplate": "io.argoproj.workflow.v1alpha1.WorkflowTemplate",
    "CronWorkflow": "io.argoproj.workflow.v1alpha1.CronWorkflow",
}


@functools.cache
def strict_validator(kind: str) -> Draft202012Validator:
    schema = json.loads(upstream(SCHEMA_FILE).read_text())
    defs = copy.deepcopy(schema["definitions"])
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] = ["string", "integer"]
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] = ["string", "number"]
    for d in defs.values():
        if "properties" in d and "additionalProperties" not in d:
            d["additionalProperties"] = False
    return Draft202012Validator(
        {"$schema": schema["$schema"], "$ref": f"#/definitions/{KINDS[kind]}", "definitions": defs}
    )


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """``$.json.path: message`` for every way ``doc`` breaks the strict schema of its kind."""
    kind = doc.get("kind")
    if kind not in KINDS:
        return [f"$.kind: expected one of {sorted(KINDS)}, got {kind!r}"]
    errors = sorted(strict_validator(kind).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {e.message}" for e in errors]


_TASK_REF = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9-]+)\.")
_DEPENDS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_TASK_OUTPUT_REF = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9-]+)\.outputs\.(parameters|artifacts)\.([-\w]+)\s*\}\}")
_ITEM_KEY = re.compile(r"\{\{\s*item\.([-\w]+)\s*\}\}")
_WORKFLOW_PARAM = re.compile(r"\{\{\s*workflow\.parameters\.([-\w]+)\s*\}\}")
_INPUT_REF = re.compile(r"\{\{\s*inputs\.(parameters|artifacts)\.([-\w]+)\s*\}\}")


def _without_inline(template: dict[str, Any]) -> dict[str, Any]:
    """The template without its tasks' inline templates (each is its own scope for ``{{inputs...}}``)."""
    dag = template.get("dag")
    if not dag:
        return template
    tasks = [{k: v for k, v in task.items() if k != "inline"} for task in dag.get("tasks", [])]
    return {**template, "dag": {**dag, "tasks": tasks}}


def semantic_errors(doc: dict[str, Any]) -> list[str]:
    """Cross-references the schema cannot check: templates, DAG tasks, inputs a task passes."""
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronWorkflow":
        spec = spec.get("workflowSpec", {})
    templates = {t["name"]: t for t in spec.get("templates", [])}
    errors = []
    for field in ("entrypoint", "onExit"):
        if spec.get("workflowTemplateRef"):  # the templates are the referenced WorkflowTemplate's
            break
        if spec.get(field) and spec[field] not in templates:
            errors.append(f"spec.{field}: no template named {spec[field]!r}")
    for tname, t in templates.items():
        tasks = {task["name"]: task for task in (t.get("dag") or {}).get("tasks", [])}
        for name, task in tasks.items():
            where = f"templates[{tname}].dag.tasks[{name}]"
            if "templateRef" in task:  # a template of another WorkflowTemplate: not checkable here
                continue
            target = task["inline"] if "inline" in task else templates.get(task.get("template", ""))
            if target is None:
                errors.append(f"{where}.template: no template named {task.get('template')!r}")
                continue
            for dep in _DEPENDS_NAME.findall(
                re.sub(
                    r"\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned|AnySucceeded|AllFailed)",
                    "",
                    task.get("depends", ""),
                )
            ):
                if dep not in tasks:
                    errors.append(f"{where}.depends: no task named {dep!r}")
            text = json.dumps(task)
            for ref in _TASK_REF.findall(text):
                if ref not in tasks:
                    errors.append(f"{where}: refers to task {ref!r}, which is not in this DAG")
            wanted = {
                p["name"]
                for p in (target.get("inputs") or {}).get("parameters", [])
                if "value" not in p and "default" not in p and "valueFrom" not in p  # e.g. supplied by an event
            }
            given = {p["name"] for p in (task.get("arguments") or {}).get("parameters", [])}
            errors += [
                f"{where}.arguments: missing parameter {p!r} of template {target['name']!r}"
                for p in sorted(wanted - given)
            ]
            for ref_task, kind, out in _TASK_OUTPUT_REF.findall(text):
                produced = templates.get(tasks.get(ref_task, {}).get("template", ""), {})
                names = {o["name"] for o in (produced.get("outputs") or {}).get(kind, [])}
                if ref_task in tasks and out not in names:
                    errors.append(f"{where}: task {ref_task!r} has no output {kind[:-1]} {out!r}")
            looped = "withItems" in task or "withParam" in task
            args_text = json.dumps({k: v for k, v in task.items() if k not in ("withItems", "withParam")})
            if "{{item" in args_text and not looped:
                errors.append(f"{where}: uses {{{{item}}}} but has no withItems/withParam")
            for row in task.get("withItems") or []:
                for key in _ITEM_KEY.findall(args_text):
                    if not isinstance(row, dict) or key not in row:
                        errors.append(f"{where}: withItems row {row!r} has no key {key!r}")
                        break
            wanted_art = {a["name"] for a in (target.get("inputs") or {}).get("artifacts", []) if not a.get("optional")}
            wanted_art -= {
                a["name"] for a in (target.get("inputs") or {}).get("artifacts", []) if a.get("s3") or a.get("raw")
            }
            given_art = {a["name"] for a in (task.get("arguments") or {}).get("artifacts", [])}
            errors += [
                f"{where}.arguments: missing artifact {a!r} of template {target['name']!r}"
                for a in sorted(wanted_art - given_art)
            ]
    declared = {p["name"] for p in (spec.get("arguments") or {}).get("parameters", [])}
    for ref in sorted(set(_WORKFLOW_PARAM.findall(json.dumps(spec)))):
        if ref not in declared and ref != "json":  # {{workflow.parameters.json}}: all of them, as JSON
            errors.append(f"spec: {{{{workflow.parameters.{ref}}}}} is not in spec.arguments.parameters")
    inlined = [task.get("inline") for t in templates.values() for task in (t.get("dag") or {}).get("tasks", [])]
    scopes = [(name, t, _without_inline(t)) for name, t in templates.items()]
    scopes += [(f"inline {i}", t, t) for i, t in enumerate(inlined) if isinstance(t, dict)]
    for tname, t, own in scopes:
        inputs = t.get("inputs") or {}
        text = json.dumps(own)
        for kind, ref in _INPUT_REF.findall(text):
            if ref not in {i["name"] for i in inputs.get(kind, [])}:
                errors.append(f"templates[{tname}]: {{{{inputs.{kind}.{ref}}}}} is not an input of the template")
    return errors
