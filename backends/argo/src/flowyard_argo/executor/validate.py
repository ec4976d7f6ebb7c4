"""Pre-flight checks of a Workflow: a subset of the controller's ``workflow/validate/validate.go`` and v4's CRD rules.

Each problem names the rule it breaks (upstream file and function), the path in the document and the controller's
own message, so a manifest the controller would reject is refused here before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flowyard_argo.executor.depends import dependency_names, validate_task_results
from flowyard_argo.executor.versions import ArgoVersion

MAX_OBJECT_NAME = 63
MAX_FIELD_NAME = 128
CRD_MAX_ITEMS = 200
TEMPLATE_TYPES = (
    "container",
    "containerSet",
    "steps",
    "script",
    "resource",
    "dag",
    "suspend",
    "data",
    "http",
    "plugin",
)
_FIELD_NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")
_FIELD_NAME_MSG = (
    "name must consist of alpha-numeric characters or '-', and must start with an alpha-numeric character"
    " (e.g. My-name1-2, 123-NAME)"
)
_CHOOSE = "choose one of: container, containerSet, steps, script, resource, dag, suspend, template, template ref"


@dataclass(frozen=True)
class Problem:
    """One reason the controller would refuse the workflow."""

    rule: str  # upstream file and function
    path: str  # where in the document
    message: str  # the controller's words

    def render(self, source: str) -> str:
        return f"{source}: {self.path}: {self.message} (rule: {self.rule})"


MAX_CRON_NAME = 52
_KIND_NAMES = {
    "WorkflowTemplate": ("workflow template", MAX_OBJECT_NAME, "validate.go WorkflowTemplate"),
    "ClusterWorkflowTemplate": ("cluster workflow template", MAX_OBJECT_NAME, "validate.go ClusterWorkflowTemplate"),
    "CronWorkflow": ("cron workflow", MAX_CRON_NAME, "validate.go CronWorkflow"),
}


def validate_kind(doc: Mapping[str, Any]) -> list[Problem]:
    """The name rule of a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow (52 characters: the
    controller appends a timestamp to a CronWorkflow's runs)."""
    found = _KIND_NAMES.get(str(doc.get("kind")))
    name = str((doc.get("metadata") or {}).get("name") or "")
    if found is None or len(name) <= found[1]:
        return []
    what, limit, rule = found
    message = f'{what} name "{name}" must not be more than {limit} characters long (currently {len(name)})'
    return [Problem(rule, "metadata.name", message)]


def validate_workflow(wf: Mapping[str, Any], version: ArgoVersion) -> list[Problem]:
    """Everything found wrong, in the controller's order; the first is the one it would report."""
    return list(_workflow(wf, version))


def _decode_types(spec: Mapping[str, Any]) -> Iterator[Problem]:
    """What the API server's ``json.Unmarshal`` into Go structs refuses first: a name that is not a string (YAML 1.1
    reads ``yes``/``no``/``on`` as booleans)."""
    go_types = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
    for i, tmpl in enumerate(spec.get("templates") or []):
        names = [(f"spec.templates[{i}].name", "Template.name", tmpl.get("name"))]
        for g, group in enumerate(tmpl.get("steps") or []):
            names += [(f"spec.templates[{i}].steps[{g}][{j}].name", "WorkflowStep.name", s.get("name"))
                      for j, s in enumerate(group or [])]  # fmt: skip
        for j, task in enumerate((tmpl.get("dag") or {}).get("tasks") or []):
            names.append((f"spec.templates[{i}].dag.tasks[{j}].name", "DAGTask.name", task.get("name")))
        for where, field_name, value in names:
            if value is not None and not isinstance(value, str):
                kind = go_types.get(type(value), type(value).__name__)
                message = f"json: cannot unmarshal {kind} into Go struct field {field_name} of type string"
                yield Problem("API server decode (json.Unmarshal)", where, message)


def _workflow(wf: Mapping[str, Any], version: ArgoVersion) -> Iterator[Problem]:
    decode = list(_decode_types(wf.get("spec") or {}))
    if decode:
        yield from decode
        return
    name = str((wf.get("metadata") or {}).get("name") or "")
    if len(name) > MAX_OBJECT_NAME:
        yield Problem(
            "validate.go Workflow",
            "metadata.name",
            f'workflow name "{name}" must not be more than 63 characters long (currently {len(name)})',
        )
    spec = wf.get("spec") or {}
    templates = spec.get("templates") or []
    if version.crd_limits and len(templates) > CRD_MAX_ITEMS:
        yield Problem(
            "workflow_types.go WorkflowSpec.Templates (CRD maxItems)",
            "spec.templates",
            f"Too many: {len(templates)}: must have at most {CRD_MAX_ITEMS} items",
        )
    yield from _arguments((spec.get("arguments") or {}).get("parameters") or [], "spec.arguments.")
    found = list(_field_names(templates, "spec.templates", "validate.go validateWorkflowFieldNames"))
    yield from found
    if found:
        return
    by_name = {t["name"]: t for t in templates}
    entrypoint = spec.get("entrypoint") or ""
    if not entrypoint:
        yield Problem("validate.go Workflow", "spec.entrypoint", "spec.entrypoint is required")
    elif entrypoint not in by_name:
        yield Problem(
            "validate.go validateTemplateHolder", "spec.entrypoint", f"template name '{entrypoint}' undefined"
        )
    on_exit = spec.get("onExit")
    if on_exit and on_exit not in by_name:
        yield Problem("validate.go validateTemplateHolder", "spec.onExit", f"template name '{on_exit}' undefined")
    yield from _hooks(spec.get("hooks") or {}, "spec.hooks", "hooks", by_name)
    for index, tmpl in enumerate(templates):
        yield from _template(tmpl, f"spec.templates[{index}]", by_name, version)


def _arguments(params: list[Mapping[str, Any]], prefix: str) -> Iterator[Problem]:
    """``validateArgumentsValues`` for a submitted workflow: a value (or a valueFrom the controller can use),
    and a value among its ``enum``."""
    rule = "validate.go validateArgumentsValues"
    for i, param in enumerate(params):
        name, path = param.get("name"), f"spec.arguments.parameters[{i}]"
        source = param.get("valueFrom")
        if source is None and param.get("value") is None:
            yield Problem(rule, path, f"{prefix}{name}.value or {prefix}{name}.valueFrom is required")
        if source is not None and (
            not any(source.get(k) for k in ("configMapKeyRef", "event", "supplied"))
            or any(source.get(k) for k in ("path", "jsonPath", "parameter", "expression"))
        ):
            yield Problem(rule, path, f"{prefix}{name}.valueFrom only allows: default, configMapKeyRef and supplied")
        enum = param.get("enum")
        if enum is not None:
            if not enum:
                yield Problem(rule, path, f"{prefix}{name}.enum should contain at least one value")
            elif param.get("value") is not None and str(param["value"]) not in [str(e) for e in enum]:
                yield Problem(rule, path, f"{prefix}{name}.value should be present in {prefix}{name}.enum list")


def _field_names(items: list[Mapping[str, Any]], path: str, rule: str) -> Iterator[Problem]:
    """``validateWorkflowFieldNames``: every name present, well formed, at most 128 characters, unique."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.get("name") or ""
        if not name:
            yield Problem(rule, f"{path}[{i}].name", f"[{i}].name is required")
            continue
        errs = []
        if len(name) > MAX_FIELD_NAME:
            errs.append(f"must be no more than {MAX_FIELD_NAME} characters")
        if not _FIELD_NAME.fullmatch(name):
            errs.append(_FIELD_NAME_MSG)
        if errs:
            yield Problem(rule, f"{path}[{i}].name", f"[{i}].name: '{name}' is invalid: {';'.join(errs)}")
        elif name in seen:
            yield Problem(rule, f"{path}[{i}].name", f"[{i}].name '{name}' is not unique")
        seen.add(name)


def _template(
    tmpl: Mapping[str, Any], path: str, by_name: Mapping[str, Any], version: ArgoVersion
) -> Iterator[Problem]:
    name = tmpl["name"]
    kinds = [k for k in TEMPLATE_TYPES if tmpl.get(k) is not None]
    if not kinds:
        yield Problem(
            "validate.go validateTemplateType", path, f"templates.{name} template type unspecified. {_CHOOSE}"
        )
    elif len(kinds) > 1:
        yield Problem(
            "validate.go validateTemplateType", path, f"templates.{name} multiple template types specified. {_CHOOSE}"
        )
    if version.crd_limits and ("steps" in kinds or "dag" in kinds):
        if tmpl.get("timeout"):
            yield Problem(
                "workflow_types.go (CRD XValidation)",
                f"{path}.timeout",
                "timeout cannot be applied to steps or dag templates",
            )
        if tmpl.get("activeDeadlineSeconds") is not None:
            yield Problem(
                "workflow_types.go (CRD XValidation)",
                f"{path}.activeDeadlineSeconds",
                "activeDeadlineSeconds is only valid for leaf templates",
            )
    if "steps" in kinds:
        yield from _steps(tmpl, path, by_name)
    if "dag" in kinds:
        yield from _dag(tmpl, path, by_name, version)


def _reference(holder: Mapping[str, Any], by_name: Mapping[str, Any]) -> str | None:
    """``validateTemplateHolder``: the message when the step/task names no template this workflow defines."""
    if holder.get("templateRef") is not None:
        if holder.get("template"):
            return "template name cannot be specified with templateRef"
        return None
    if holder.get("inline") is not None:
        return None
    target = holder.get("template") or ""
    if target not in by_name:
        return f"template name '{target}' undefined"
    return None


def _steps(tmpl: Mapping[str, Any], path: str, by_name: Mapping[str, Any]) -> Iterator[Problem]:
    name = tmpl["name"]
    rule = "validate.go validateSteps"
    seen: set[str] = set()
    for i, group in enumerate(tmpl.get("steps") or []):
        for j, step in enumerate(group or []):
            where = f"{path}.steps[{i}][{j}]"
            step_name = step.get("name") or ""
            if not step_name:
                yield Problem(rule, where, f"templates.{name}.steps[{i}].name is required")
                continue
            if step_name in seen:
                yield Problem(rule, where, f"templates.{name}.steps[{i}].name '{step_name}' is not unique")
            seen.add(step_name)
            if not _FIELD_NAME.fullmatch(step_name) or len(step_name) > MAX_FIELD_NAME:
                yield Problem(
                    rule, where, f"templates.{name}.steps[{i}].name '{step_name}' is invalid: {_FIELD_NAME_MSG}"
                )
            problem = _reference(step, by_name)
            if problem:
                yield Problem(
                    "validate.go validateTemplateHolder", where, f"templates.{name}.steps[{i}].{step_name} {problem}"
                )
            yield from _hooks(
                step.get("hooks") or {}, f"{where}.hooks", f"templates.{name}.steps[{i}].{step_name}", by_name
            )


def _hooks(hooks: Mapping[str, Any], where: str, base: str, by_name: Mapping[str, Any]) -> Iterator[Problem]:
    """``validateHooks``: every hook but ``exit`` needs an expression; and the template it names exists."""
    for hook_name, hook in hooks.items():
        hook = hook or {}
        if hook_name != "exit" and not hook.get("expression"):
            yield Problem(
                "validate.go validateHooks", f"{where}.{hook_name}", f"{base}.{hook_name} Expression required"
            )
        template = hook.get("template")
        if template and template not in by_name:
            yield Problem(
                "validate.go validateTemplateHolder", f"{where}.{hook_name}", f"template name '{template}' undefined"
            )


def _dag(tmpl: Mapping[str, Any], path: str, by_name: Mapping[str, Any], version: ArgoVersion) -> Iterator[Problem]:
    name = tmpl["name"]
    tasks = (tmpl.get("dag") or {}).get("tasks") or []
    rule = "validate.go validateDAG"
    if not tasks:
        yield Problem(rule, f"{path}.dag.tasks", f"templates.{name} must have at least one task")
        return
    if version.crd_limits and len(tasks) > CRD_MAX_ITEMS:
        yield Problem(
            "workflow_types.go DAGTemplate.Tasks (CRD maxItems)",
            f"{path}.dag.tasks",
            f"Too many: {len(tasks)}: must have at most {CRD_MAX_ITEMS} items",
        )
    by_task = {t.get("name"): t for t in tasks}
    sort_problem = _sorting(tasks, by_task)
    if sort_problem:
        yield Problem(
            "validate.go sortDAGTasks", f"{path}.dag.tasks", f"templates.{name} sorting failed: {sort_problem}"
        )
        return
    names = list(_field_names(tasks, f"{path}.dag.tasks", "validate.go validateWorkflowFieldNames"))
    for p in names:
        yield Problem(p.rule, p.path, f"templates.{name}.tasks{p.message}")
    using_depends = any(t.get("depends") for t in tasks)
    for i, task in enumerate(tasks):
        yield from _dag_task(name, task, f"{path}.dag.tasks[{i}]", using_depends, by_name)
    target = (tmpl.get("dag") or {}).get("target") or ""
    for target_name in target.split():
        # validateTemplate substitutes the parameters (ProcessArgs) first: a tag is known at run time only
        if target_name not in by_task and "{{" not in target_name:
            yield Problem(
                "validate.go validateDAGTargets",
                f"{path}.dag.target",
                f"templates.{name}.targets: target '{target_name}' is not defined",
            )


def _dag_task(
    name: str, task: Mapping[str, Any], where: str, using_depends: bool, by_name: Mapping[str, Any]
) -> Iterator[Problem]:
    """``validateDAG``'s checks of one task."""
    rule = "validate.go validateDAG"
    tname = task.get("name") or ""
    if (using_depends or task.get("dependencies")) and tname[:1].isdigit():
        yield Problem(
            rule,
            f"{where}.name",
            f"templates.{name}.tasks.{tname} name cannot begin with a digit when "
            "using either 'depends' or 'dependencies'",
        )
    if using_depends and task.get("dependencies"):
        yield Problem(
            rule,
            f"{where}.dependencies",
            f"templates.{name} cannot use both 'depends' and 'dependencies' in the same DAG template",
        )
    if using_depends and task.get("continueOn") is not None:
        yield Problem(
            rule,
            f"{where}.continueOn",
            f"templates.{name} cannot use 'continueOn' when using 'depends'. "
            "Instead use 'dep-task.Failed'/'dep-task.Errored'",
        )
    problem = _reference(task, by_name)
    if problem:
        yield Problem("validate.go validateTemplateHolder", where, f"templates.{name}.tasks.{tname} {problem}")
    result_problem = validate_task_results(task.get("depends") or "")
    if result_problem:
        yield Problem(
            "ancestry.go ValidateTaskResults",
            f"{where}.depends",
            f"templates.{name}.tasks.{tname} {result_problem}",
        )


def _sorting(tasks: list[Mapping[str, Any]], by_task: Mapping[Any, Mapping[str, Any]]) -> str | None:
    """``sortDAGTasks`` through ``util/sorting.TopologicalSorting``: its first complaint, if any."""
    graph: dict[str, set[str]] = {}
    for task in tasks:
        tname = task.get("name") or ""
        if tname in graph:
            return f"duplicated nodeName {tname}"
        graph[tname] = set(dependency_names(task, by_task))
    for deps in graph.values():
        for dep in sorted(deps):
            if dep not in graph:
                return f"invalid dependency {dep}"
    # Kahn's algorithm, linear in tasks and edges: a 1,000-task chain is what compile's pre-flight meets
    waiting = {n: len(deps) for n, deps in graph.items()}
    dependents: dict[str, list[str]] = {n: [] for n in graph}
    for n, deps in graph.items():
        for dep in deps:
            dependents[dep].append(n)
    ready = [n for n, count in waiting.items() if count == 0]
    sorted_count = 0
    while ready:
        n = ready.pop()
        sorted_count += 1
        for later in dependents[n]:
            waiting[later] -= 1
            if waiting[later] == 0:
                ready.append(later)
    return None if sorted_count == len(graph) else "graph with cycle"
