"""What cannot run on this machine, found before anything runs: refused by name (one line, exit 2), or ignored
with one notice where the field only places or sizes a pod on a cluster."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expr.check import expression_tags, unsupported
from flowyard_argo.executor.synchronization import refusals as sync_refusals
from flowyard_argo.executor.volumes import refusals as volume_refusals

REFUSED_TEMPLATE_KINDS = {
    "resource": "resource templates (they create Kubernetes objects)",
    "containerSet": "containerSet templates",
    "http": "http templates",
    "plugin": "plugin templates",
}
REFUSED_TEMPLATE_FIELDS = {
    "daemon": "daemon templates",
    "sidecars": "sidecars",
    "initContainers": "initContainers",
}
REFUSED_SPEC_FIELDS = {
    "workflowTemplateRef": "workflowTemplateRef (no cluster to hold the WorkflowTemplate)",
}
IGNORED_FIELDS = (
    "nodeSelector",
    "tolerations",
    "affinity",
    "podSpecPatch",
    "securityContext",
    "serviceAccountName",
    "imagePullSecrets",
    "priorityClassName",
    "schedulerName",
    "podGC",
    "ttlStrategy",
    "metrics",
    "podMetadata",
    "metadata",
    "automountServiceAccountToken",
    "hostAliases",
    "dnsPolicy",
    "dnsConfig",
    "podPriorityClassName",
    "executor",
    "retryStrategy.affinity",
)
LOCATIONS = ("s3", "gcs", "azure", "oss", "hdfs", "git", "http", "artifactory", "raw", "plugin")
UNREACHABLE = ("gcs", "azure", "oss", "hdfs", "git", "http", "artifactory", "plugin")  # no driver here


def refusals(spec: Mapping[str, Any]) -> list[str]:
    """Every feature the manifest uses that this executor refuses, by name and path."""
    return list(_refusals(spec))


def _refusals(spec: Mapping[str, Any]) -> Iterator[str]:
    for key, what in REFUSED_SPEC_FIELDS.items():
        if spec.get(key):
            yield f"spec.{key}: {what} cannot run here"
    yield from _hook_refs(spec.get("hooks") or {}, "spec")
    yield from volume_refusals(spec)
    yield from sync_refusals(spec.get("synchronization") or {}, "spec")
    yield from _argument_refusals(spec.get("arguments") or {})
    for source in dict.fromkeys(expression_tags(gojson.marshal(spec))):
        text = gojson.fix_html(source)
        why = unsupported(gojson.decode(f'"{text}"') if gojson.is_valid(f'"{text}"') else text)
        if why is not None:
            yield f"expression {{{{={source}}}}}: {why}"
    for index, tmpl in enumerate(spec.get("templates") or []):
        path = f"spec.templates[{index}] ({tmpl.get('name')})"
        for key, what in {**REFUSED_TEMPLATE_KINDS, **REFUSED_TEMPLATE_FIELDS}.items():
            if tmpl.get(key):
                yield f"{path}.{key}: {what} cannot run here"
        if (tmpl.get("steps") is not None or tmpl.get("dag") is not None) and (
            tmpl.get("timeout") or tmpl.get("activeDeadlineSeconds") is not None
        ):
            yield f"{path}: timeout/activeDeadlineSeconds on a steps or dag template (only leaf templates have one)"
        yield from sync_refusals(tmpl.get("synchronization") or {}, path)
        yield from _template_details(tmpl, path)


def _argument_refusals(arguments: Mapping[str, Any]) -> Iterator[str]:
    """The workflow's own arguments: what the controller loads for the entrypoint before it runs."""
    for art in arguments.get("artifacts") or []:
        where = [k for k in _location(art) if k != "raw"]
        if where:
            yield f"spec.arguments.artifacts.{art.get('name')}: {where[0]} artifacts cannot be reached from here"
    for param in arguments.get("parameters") or []:
        for key in ("event", "supplied"):  # configMapKeyRef: configmaps.resolve_globals
            if (param.get("valueFrom") or {}).get(key) is not None:
                yield f"spec.arguments.parameters.{param.get('name')}.valueFrom.{key} cannot run here"


def _location(art: Mapping[str, Any]) -> list[str]:
    """The artifact's locations this executor has no driver for (S3 and raw it has)."""
    return [k for k in UNREACHABLE if art.get(k) is not None]


def _holds_children(tmpl: Mapping[str, Any]) -> bool:
    return tmpl.get("steps") is not None or tmpl.get("dag") is not None


def _template_details(tmpl: Mapping[str, Any], path: str) -> Iterator[str]:
    for group in ("inputs", "outputs"):
        for art in (tmpl.get(group) or {}).get("artifacts") or []:
            where = _location(art) + (["raw"] if group == "outputs" and art.get("raw") is not None else [])
            if where:
                yield f"{path}.{group}.artifacts.{art.get('name')}: {where[0]} artifacts cannot be reached from here"
            if art.get("fromExpression") and (group == "inputs" or not _holds_children(tmpl)):
                yield f"{path}.{group}.artifacts.{art.get('name')}.fromExpression: only a steps/dag template's outputs"
        for param in (tmpl.get(group) or {}).get("parameters") or []:
            source = param.get("valueFrom") or {}
            for key in ("expression", "configMapKeyRef", "jsonPath", "jqFilter", "event", "supplied"):
                if key == "expression" and group == "outputs" and _holds_children(tmpl):
                    continue  # getTemplateOutputsFromScope evaluates it
                if key == "configMapKeyRef" and group == "inputs":
                    continue  # configmaps.resolve_inputs
                if source.get(key) is not None:
                    yield f"{path}.{group}.parameters.{param.get('name')}.valueFrom.{key} cannot run here"
    listed = ((tmpl.get("data") or {}).get("source") or {}).get("artifactPaths") or {}
    for kind in _location(listed):
        yield f"{path}.data.source.artifactPaths: {kind} artifacts cannot be reached from here"
    body = tmpl.get("container") or tmpl.get("script") or {}
    for env in body.get("env") or []:
        for key in ("fieldRef", "resourceFieldRef"):  # secretKeyRef, configMapKeyRef: podenv.py
            if (env.get("valueFrom") or {}).get(key) is not None:
                yield f"{path}: env {env.get('name')} valueFrom.{key} (no pod object or node to read it from)"
    for kind in ("steps", "dag"):
        holders = _holders(tmpl, kind)
        for holder in holders:
            if holder.get("templateRef") is not None:
                yield f"{path}: templateRef (no cluster to hold the WorkflowTemplate) cannot run here"
            yield from _hook_refs(holder.get("hooks") or {}, f"{path}: {holder.get('name')}")
            for art in (holder.get("arguments") or {}).get("artifacts") or []:
                where = [k for k in _location(art) if k != "raw"]  # an argument is loaded into the pod
                if where:
                    name = art.get("name")
                    yield f"{path}: argument artifact {name}: {where[0]} artifacts cannot be reached from here"


def _hook_refs(hooks: Mapping[str, Any], path: str) -> Iterator[str]:
    for name, hook in hooks.items():
        if isinstance(hook, Mapping) and hook.get("templateRef") is not None:
            yield f"{path}.hooks.{name}: templateRef (no cluster to hold the WorkflowTemplate) cannot run here"


def _holders(tmpl: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    if kind == "steps":
        return [s for group in tmpl.get("steps") or [] for s in group or []]
    return list((tmpl.get("dag") or {}).get("tasks") or [])


def ignored(spec: Mapping[str, Any]) -> list[str]:
    """Fields that only matter on a cluster: named once in a notice."""
    found = {k for k in IGNORED_FIELDS if spec.get(k) is not None}
    for tmpl in spec.get("templates") or []:
        found.update(k for k in IGNORED_FIELDS if tmpl.get(k) is not None)
        body = tmpl.get("container") or tmpl.get("script") or {}
        found.update(
            f"container.{k}" for k in ("resources", "imagePullPolicy", "securityContext", "ports") if body.get(k)
        )
    return sorted(found)
