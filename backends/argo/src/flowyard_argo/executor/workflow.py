"""A Workflow run end to end: checks before anything runs, the globals, the entrypoint, the exit handler.

``workflow.name`` is ``metadata.name`` (``--name``), else ``generateName`` plus five characters derived from the
manifest (deterministic, as ``argo submit --name`` lets a user make it); ``workflow.status`` and
``workflow.failures`` are set for the exit handler as ``operator.go`` ``setGlobalParameters``/``runOnExitNode`` do.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flowyard.runs import TaskState, write_atomic
from flowyard_argo.executor import gojson
from flowyard_argo.executor.arguments import any_string
from flowyard_argo.executor.artifacts.transfer import ArtifactSettings, ArtifactStore
from flowyard_argo.executor.configmaps import ConfigMapError, ConfigMaps, resolve_globals
from flowyard_argo.executor.context import RunContext
from flowyard_argo.executor.engine import execute
from flowyard_argo.executor.guarded import lock_folder, workflow_locks
from flowyard_argo.executor.hooks import WorkflowHooks, exit_hook, run_hook
from flowyard_argo.executor.images import ImageError, ImageMap
from flowyard_argo.executor.launcher import running_pods
from flowyard_argo.executor.nodes import Node, NodeTree
from flowyard_argo.executor.record import RunRecord
from flowyard_argo.executor.refusals import ignored, refusals
from flowyard_argo.executor.scope import Scope
from flowyard_argo.executor.synchronization import LockError, holding, locks
from flowyard_argo.executor.validate import Problem, validate_kind, validate_workflow
from flowyard_argo.executor.versions import ArgoVersion
from flowyard_argo.executor.volumes import existing_claims

KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


class ManifestError(ValueError):
    """A manifest refused before anything runs (each line: path, reason, rule)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class WorkflowRun:
    """The outcome of one run: phase, message, the node tree, notices."""

    name: str
    phase: TaskState
    message: str
    tree: NodeTree
    root: Node
    exit_node: Node | None = None
    notices: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


def workflow_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Workflow a document runs: itself, a WorkflowTemplate's spec, or a CronWorkflow's ``workflowSpec``."""
    kind = doc.get("kind")
    if kind not in KINDS:
        raise ManifestError([f"kind {kind!r} is not an Argo Workflow, WorkflowTemplate or CronWorkflow"])
    metadata = dict(doc.get("metadata") or {})
    spec = (doc.get("spec") or {}).get("workflowSpec") if kind == "CronWorkflow" else doc.get("spec")
    if kind != "Workflow" and metadata.get("name") and not metadata.get("generateName"):
        metadata = {"generateName": f"{metadata.pop('name')}-", **metadata}
    return {"apiVersion": doc.get("apiVersion"), "kind": "Workflow", "metadata": metadata, "spec": dict(spec or {})}


def prepare(
    doc: Mapping[str, Any],
    version: ArgoVersion,
    *,
    source: str,
    params: Mapping[str, str] | None = None,
    entrypoint: str | None = None,
    name: str | None = None,
    images: ImageMap | None = None,
    configmaps: ConfigMaps | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The workflow to run with the user's overrides applied, validated and checked; (workflow, notices).

    ``configmaps``: the workflow's argument parameters from ConfigMaps are resolved now, and its semaphores'
    limits read (``setGlobalParameters``, the workflow-level ``TryAcquire``, before anything runs)."""
    kind_problems = validate_kind(doc)
    if kind_problems:
        raise ManifestError([p.render(source) for p in kind_problems])
    wf = workflow_of(doc)
    spec = wf["spec"]
    if entrypoint:
        spec["entrypoint"] = entrypoint
    if params:
        spec["arguments"] = _with_params(spec.get("arguments") or {}, params, source)
    metadata = wf["metadata"]
    metadata["name"] = name or metadata.get("name") or _generated_name(metadata.get("generateName") or "", wf)
    if spec.get("workflowTemplateRef"):  # validate.go ValidateWorkflow validates the referenced template's spec
        raise ManifestError([f"{source}: {line}" for line in refusals({"workflowTemplateRef": True})])
    problems: list[Problem] = validate_workflow(wf, version)
    if problems:
        raise ManifestError([p.render(source) for p in problems[:1]])
    refused = refusals(spec)
    if refused:
        raise ManifestError([f"{source}: {line}" for line in refused[:1]])
    if images is not None:
        unmapped = _unmapped_images(spec, images)
        if unmapped:
            raise ManifestError([f"{source}: {unmapped[0]}"])
    skipped = ignored(spec)
    notices = [f"ignored here (they only place or size pods on a cluster): {', '.join(skipped)}"] if skipped else []
    notices += [
        f"persistentVolumeClaim {c}: an empty folder of this run (no cluster holds it)" for c in existing_claims(spec)
    ]
    if configmaps is not None:
        _with_configmaps(spec, configmaps, source, metadata.get("namespace") or "default")
    return wf, notices


def _with_configmaps(spec: dict[str, Any], configmaps: ConfigMaps, source: str, namespace: str) -> None:
    """The argument parameters from ConfigMaps as values; the workflow's semaphore limits checked."""
    try:
        spec["arguments"] = resolve_globals(spec.get("arguments") or {}, configmaps)
        sync = spec.get("synchronization")
        if isinstance(sync, Mapping):
            locks(sync, namespace, configmaps)
    except ConfigMapError as e:
        raise ManifestError([f"{source}: spec.arguments: {e}"]) from None
    except LockError as e:
        raise ManifestError([f"{source}: spec.synchronization: {e}"]) from None


def _unmapped_images(spec: Mapping[str, Any], images: ImageMap) -> list[str]:
    """Images (written literally) and commands the image map cannot stand in for."""
    problems = []
    for index, tmpl in enumerate(spec.get("templates") or []):
        body = tmpl.get("container") or tmpl.get("script") or {}
        image = str(body.get("image") or "")
        if not body or "{{" in image:
            continue
        where = f"spec.templates[{index}] ({tmpl.get('name')})"
        try:
            found = images.image(image)
            command = [*(body.get("command") or [])] or ([] if tmpl.get("script") else body.get("args") or [])
            if command and "{{" not in str(command[0]):
                found.resolve(str(command[0]))
        except ImageError as e:
            problems.append(f"{where}: {e}")
    return problems


def _with_params(arguments: Mapping[str, Any], params: Mapping[str, str], source: str) -> dict[str, Any]:
    """``argo submit -p``: set the value of a declared workflow parameter."""
    declared = [dict(p) for p in arguments.get("parameters") or []]
    names = {p.get("name") for p in declared}
    for key, value in params.items():
        if key not in names:
            raise ManifestError([f"{source}: spec.arguments.parameters: no parameter named {key!r} (-p {key}=...)"])
        for param in declared:
            if param.get("name") == key:
                param["value"] = value
                param.pop("valueFrom", None)
    return {**arguments, "parameters": declared}


def _generated_name(prefix: str, wf: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(gojson.marshal(wf["spec"]).encode()).digest()
    return (prefix or "workflow-") + "".join(_NAME_CHARS[b % len(_NAME_CHARS)] for b in digest[:5])


def global_values(wf: Mapping[str, Any]) -> dict[str, str | None]:
    """``setGlobalParameters``: the workflow's name, uid, namespace and parameters."""
    metadata, spec = wf["metadata"], wf["spec"]
    values: dict[str, str | None] = {
        "workflow.name": metadata["name"],
        "workflow.namespace": metadata.get("namespace") or "default",
        "workflow.uid": str(uuid.uuid5(uuid.NAMESPACE_URL, metadata["name"])),
        "workflow.serviceAccountName": spec.get("serviceAccountName") or "default",
        "workflow.mainEntrypoint": spec.get("entrypoint"),
        "workflow.creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "workflow.priority": str(spec.get("priority") or 0),
    }
    params = []
    for param in (spec.get("arguments") or {}).get("parameters") or []:
        value = param.get("value", param.get("default"))
        text = any_string(value) if value is not None else None
        values[f"workflow.parameters.{param['name']}"] = text
        params.append({"name": param["name"], "value": text})
    values["workflow.parameters.json"] = gojson.marshal(params)
    for key, value in (metadata.get("labels") or {}).items():
        values[f"workflow.labels.{key}"] = str(value)
    for key, value in (metadata.get("annotations") or {}).items():
        values[f"workflow.annotations.{key}"] = str(value)
    return values


def run_workflow(
    wf: Mapping[str, Any],
    version: ArgoVersion,
    images: ImageMap,
    folder: Path,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    configmaps: ConfigMaps | None = None,
    waiting: Callable[[str], None] | None = None,
    record: RunRecord | None = None,
    artifact_settings: ArtifactSettings | None = None,
) -> WorkflowRun:
    """Run the (prepared) workflow; every pod's folder, logs and artifacts land under ``folder``.

    ``previous`` (node name -> node of an earlier run of it) makes this ``argo retry``: pods that succeeded
    are kept with their outputs, everything else runs again. ``waiting`` is told once when the workflow's own
    locks are held by another run. ``record``: where each pod's end is recorded in core's run folder (journal,
    task logs, provenance, progress). ``artifact_settings``: the repository and S3 settings."""
    spec = wf["spec"]
    name = wf["metadata"]["name"]
    tree = NodeTree(name)
    if record is not None:
        record.start(tree)
    slots = threading.BoundedSemaphore(int(spec["parallelism"])) if spec.get("parallelism") else None
    run = RunContext(
        name,
        spec,
        version,
        images,
        folder,
        tree,
        global_values(wf),
        pod_slots=slots,
        previous=previous or {},
        configmaps=configmaps or ConfigMaps(),
        record=record,
        deadline=workflow_deadline(spec),
        artifacts=ArtifactStore(artifact_settings or ArtifactSettings(), folder),
    )
    with holding(lock_folder(run), workflow_locks(run), waiting or (lambda _message: None)):  # to the end (ReleaseAll)
        return _run(run, wf)


def _run(run: RunContext, wf: Mapping[str, Any]) -> WorkflowRun:
    spec, name, tree, folder = run.spec, run.name, run.tree, run.folder
    holder = {"template": spec["entrypoint"], "arguments": spec.get("arguments") or {}}
    hooks = WorkflowHooks(run)
    artifacts = {a["name"]: a for a in holder["arguments"].get("artifacts") or []}  # operator.go operate
    with running_pods():  # one pod launcher for the run; nothing it started outlives it
        root = execute(run, name, name, holder, None, artifacts, observe=hooks.observe if hooks.hooks else None)
        run.set_global("workflow.failures", json.dumps(tree.failures(), separators=(",", ":")))
        hooks.finish(root)
        if hooks.error:
            root.finish(TaskState.ERROR, hooks.error)  # operate(): markNodeError on the root node
        phase, message = root.phase, root.message
        exit_node = _exit_handler(replace(run, deadline=None), spec, name)  # not subject to the deadline
        run.reconciler.close()
    if (
        exit_node is not None
        and phase is TaskState.SUCCEEDED
        and exit_node.phase in (TaskState.FAILED, TaskState.ERROR)
    ):
        phase, message = exit_node.phase, exit_node.message
    outputs = {k: v for k, v in run.globals.items() if k.startswith("workflow.outputs.")}
    result = WorkflowRun(name, phase, message, tree, root, exit_node, outputs=outputs)
    record = run.record
    document = status_document(result) if record is None else record.masked(status_document(result))
    write_atomic(folder / "workflow.json", json.dumps(document, indent=1).encode())
    return result


def workflow_deadline(spec: Mapping[str, Any]) -> float | None:
    """``getWorkflowDeadline``: the run's start truncated to the second plus ``activeDeadlineSeconds``."""
    seconds = spec.get("activeDeadlineSeconds")
    return None if seconds is None else float(int(time.time()) + int(seconds))


def _exit_handler(run: RunContext, spec: Mapping[str, Any], name: str) -> Node | None:
    """``operate``'s exit handler (``spec.onExit`` or ``spec.hooks.exit``), after the workflow-level hooks."""
    hook = exit_hook(spec, spec.get("arguments") or {})
    if hook is None:
        return None
    run.set_global("workflow.failures", json.dumps(run.tree.failures(), separators=(",", ":")))
    exit_name = f"{name}.onExit"
    return run_hook(run, None, exit_name, exit_name, hook, Scope(), include_result=True)


def status_document(result: WorkflowRun) -> dict[str, Any]:
    """The run's ``status`` as Argo would store it (phase, message, nodes by id)."""
    return {
        "metadata": {"name": result.name},
        "status": {
            "phase": result.phase.value,
            "message": result.message,
            "nodes": {i: result.tree.nodes[i].to_json() for i in result.tree.order},
            "outputs": result.outputs,
        },
    }
