"""Step templates written ``inline`` in their tasks when a workflow would hold more than v4's CRDs allow.

v4 caps ``spec.templates`` at 200 (``workflow_types.go`` ``WorkflowSpec.Templates``, ``+kubebuilder:validation:
MaxItems=200``), and flowyard writes one template per step: a pipeline of more steps than that was refused. A DAG
task's ``inline`` template (``DAGTask.Inline``, ``+kubebuilder:pruning:PreserveUnknownFields``) is not counted, and
``validate.go`` validates it as any other. Over the cap, every container template that one task calls is moved into
that task, in template order, until the workflow fits. Such a node has no ``templateName`` (the controller names it
by the task that holds it: ``node.TemplateName`` is the holder's ``template``, empty), and its pod's name has no
template part (``workflow/util/pod_name.go`` ``GeneratePodName``), so what reads a run back finds these steps by their
task's name (:func:`outlined` for the manifest, the display name for nodes).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from flowyard_argo.retry_boundary import attempts_template

MAX_TEMPLATES = 200  # v4's CRD cap on spec.templates (the executor's validate.CRD_MAX_ITEMS)


def inline_over_cap(document: dict[str, Any], capped: bool) -> dict[str, Any]:
    """``document`` with single-use container templates inlined until it holds at most 200 (only when ``capped``,
    the release's CRDs cap it); unchanged below the cap."""
    spec = document["spec"].get("workflowSpec", document["spec"])  # a CronWorkflow nests it
    templates: list[dict[str, Any]] = spec.get("templates") or []
    if not capped or len(templates) <= MAX_TEMPLATES:
        return document
    callers, movable = _movable(spec)
    excess = len(templates) - MAX_TEMPLATES
    if len(movable) < excess:
        return document  # pre-flight refuses it in the controller's words
    moved = set(movable[:excess])
    by_name = {t["name"]: t for t in templates}
    for name in moved:
        task = callers[name]
        del task["template"]
        task["inline"] = {k: v for k, v in by_name[name].items() if k != "name"}
    spec["templates"] = [t for t in templates if t["name"] not in moved]
    return document


def least_templates(document: Mapping[str, Any]) -> int:
    """How many templates ``document`` would hold with every container that can be written inline moved."""
    spec = document["spec"].get("workflowSpec", document["spec"])
    return len(spec.get("templates") or []) - len(_movable(spec)[1])


def _movable(spec: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(template name -> the DAG task calling it, the container templates that one task calls, in order)."""
    templates: list[dict[str, Any]] = spec.get("templates") or []
    uses = Counter(name for _, name in _references(spec))
    callers = {task["template"]: task for task in _dag_tasks(templates) if "template" in task}
    return callers, [t["name"] for t in templates if uses[t["name"]] == 1 and "container" in t and t["name"] in callers]


def outlined(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with each inline template back in ``spec.templates`` under its task's name: what reads a
    manifest back by template names sees it as one template per step again."""
    doc = copy.deepcopy(dict(document))
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    for task in list(_dag_tasks(spec["templates"])):
        if "inline" in task:
            taken = {t["name"] for t in spec["templates"]}
            # a retried step's container, inline in its own DAG's task of the same name (:mod:`retry_boundary`)
            name = attempts_template(task["name"]) if task["name"] in taken else task["name"]
            spec["templates"].append({"name": name, **task.pop("inline")})
            task["template"] = name
    return doc


def _dag_tasks(templates: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for template in templates:
        yield from (template.get("dag") or {}).get("tasks") or []


def _references(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, template name) for every call of a template by name: DAG tasks, steps, the entrypoint, onExit, hooks."""
    yield "entrypoint", str(spec.get("entrypoint") or "")
    if spec.get("onExit"):
        yield "onExit", str(spec["onExit"])
    for template in spec.get("templates") or []:
        holders = list((template.get("dag") or {}).get("tasks") or [])
        holders += [step for group in template.get("steps") or [] for step in group]
        for holder in holders:
            if holder.get("template"):
                yield template["name"], str(holder["template"])
            if holder.get("onExit"):
                yield template["name"], str(holder["onExit"])
            for hook in (holder.get("hooks") or {}).values():
                if hook.get("template"):
                    yield template["name"], str(hook["template"])
