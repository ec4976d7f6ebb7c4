"""Checking KFP packages offline: a strict parse into the IR proto, kfp's own loader, and a
cross-reference pass (the proto parse accepts a dangling ``componentRef`` or ``producerTask``;
kfp.local would only fail on it at run time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def parse_strict(text: str) -> pipeline_spec_pb2.PipelineSpec:
    """The package's first document as a ``PipelineSpec``, unknown fields rejected; a second
    document, if any, as the ``PlatformSpec`` (kfp-kubernetes settings)."""
    docs = documents(text)
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(docs[0], spec, ignore_unknown_fields=False)
    if len(docs) > 1:
        json_format.ParseDict(docs[1], pipeline_spec_pb2.PlatformSpec(), ignore_unknown_fields=False)
    return spec


def reference_errors(spec: pipeline_spec_pb2.PipelineSpec) -> list[str]:
    errors = []
    executors = spec.deployment_spec["executors"] if "executors" in spec.deployment_spec else {}  # noqa: SIM401 - a protobuf Struct
    for name, comp in spec.components.items():
        if comp.executor_label and comp.executor_label not in executors:
            errors.append(f"components.{name}.executorLabel: no executor {comp.executor_label!r}")
    for owner, comp in [("root", spec.root), *spec.components.items()]:
        if not comp.HasField("dag"):
            continue
        tasks = comp.dag.tasks
        declared_params = set(comp.input_definitions.parameters)
        declared_artifacts = set(comp.input_definitions.artifacts)
        for tname, task in tasks.items():
            where = f"{owner}.dag.tasks.{tname}"
            target = spec.components.get(task.component_ref.name)
            if target is None:
                errors.append(f"{where}.componentRef: no component {task.component_ref.name!r}")
                continue
            errors += [f"{where}.dependentTasks: no task {d!r}" for d in task.dependent_tasks if d not in tasks]
            for kind, given in (("parameters", task.inputs.parameters), ("artifacts", task.inputs.artifacts)):
                for name, spec_in in given.items():
                    if spec_in.HasField("task_output_parameter" if kind == "parameters" else "task_output_artifact"):
                        src = spec_in.task_output_parameter if kind == "parameters" else spec_in.task_output_artifact
                        if src.producer_task not in tasks:
                            errors.append(f"{where}.inputs.{name}: no producer task {src.producer_task!r}")
                    parent = getattr(spec_in, "component_input_parameter", "") or getattr(
                        spec_in, "component_input_artifact", ""
                    )
                    if parent and parent not in (declared_params if kind == "parameters" else declared_artifacts):
                        errors.append(f"{where}.inputs.{name}: {owner} has no input {parent!r}")
    return errors


def check_package(text: str, tmp: Path, kfp_version: str | None = None) -> pipeline_spec_pb2.PipelineSpec:
    """Every check at once: strict parse, cross-references, kfp's own loader, and the
    server-compatibility pass (nothing a KFP server of that version rejects)."""
    from flowyard_kubeflow.compat import DEFAULT_VERSION, check_text
    from kfp import components

    spec = parse_strict(text)
    problems = reference_errors(spec)
    assert not problems, problems
    rejected = [f.line() for f in check_text(text, kfp_version or DEFAULT_VERSION) if f.rule.effect == "rejected"]
    assert not rejected, rejected
    path = tmp / "package.yaml"
    path.write_text(text, encoding="utf-8")
    components.load_component_from_file(str(path))
    return spec
