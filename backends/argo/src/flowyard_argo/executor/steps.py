"""``steps`` templates (``workflow/controller/steps.go`` ``executeSteps``/``executeStepGroup``).

Groups run in order; a group's steps (and their loop items) run side by side; a child that fails or errors fails the
group and the template unless its ``continueOn`` allows it. After each group, the steps' outputs (a loop's
aggregated) enter the scope as ``steps.NAME...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor.children import (
    add_settled,
    continues_on,
    evaluate_when,
    expand,
    is_loop,
    loop_not_run,
    resolve_body,
    run_child,
    run_parallel,
)
from flowyard_argo.executor.context import ExecutionError, RunContext
from flowyard_argo.executor.engine import references_result, template_outputs
from flowyard_argo.executor.hooks import NodeHooks
from flowyard_argo.executor.nodes import BAD, EMPTY_LOOP, SKIPPED, STEP_GROUP, Node
from flowyard_argo.executor.scope import AggregateError, Scope


def run_steps(run: RunContext, node: Node, template: Mapping[str, Any]) -> None:
    scope = Scope.of_template(template)
    limit = int(template["parallelism"]) if template.get("parallelism") else None
    for index, group in enumerate(template.get("steps") or []):
        group_node = run.tree.create(
            f"{node.name}[{index}]", f"[{index}]", STEP_GROUP, template.get("name") or "", node
        )
        group_node.phase = TaskState.RUNNING
        failed, error = _run_group(run, template, group_node, group or [], scope, limit)
        if error:
            group_node.finish(TaskState.ERROR, error)
            node.finish(TaskState.ERROR, error)
            return
        if failed:
            group_node.finish(failed.phase, f"child '{failed.id}' failed")
            node.finish(failed.phase, f"child '{failed.id}' failed")
            return
        group_node.finish(TaskState.SUCCEEDED)
    node.outputs = template_outputs(
        template,
        {**run.globals, **scope.values},
        {**run.global_artifacts, **scope.artifacts},
        legacy=run.version.pkg_expr_functions,
    )
    node.finish(TaskState.SUCCEEDED)


def _run_group(
    run: RunContext,
    template: Mapping[str, Any],
    group_node: Node,
    group: list[Mapping[str, Any]],
    scope: Scope,
    limit: int | None,
) -> tuple[Node | None, str]:
    """Start the group's steps, wait for all, add them to the scope; (the child failing the group, an error)."""
    plans: list[tuple[Mapping[str, Any], list[tuple[str, dict[str, Any]]] | None, Node | None]] = []
    for step in group:
        name = f"{group_node.name}.{step['name']}"
        try:
            proceed, when = evaluate_when(run, step, scope)
            if not proceed and not is_loop(step):
                skipped = run.tree.create(name, step["name"], SKIPPED, step.get("template") or "", group_node)
                plans.append((step, None, skipped.finish(TaskState.SKIPPED, f"when '{when}' evaluated false")))
                continue
            if proceed:
                body = resolve_body(run, step, scope)
                children = expand(run, body, scope)
            else:  # a loop: each item is a Skipped node, or it has none
                body, children = loop_not_run(run, step, scope, when)
        except ExecutionError as e:
            errored = run.tree.create(name, step["name"], SKIPPED, step.get("template") or "", group_node)
            plans.append((step, None, errored.finish(TaskState.ERROR, str(e))))
            continue
        if children == []:
            skipped = run.tree.create(name, step["name"], SKIPPED, step.get("template") or "", group_node)
            plans.append((step, [], skipped.finish(TaskState.SKIPPED, EMPTY_LOOP)))
            continue
        plans.append((body, children, None))
    jobs, owners, hook_sets = [], [], []
    for planned, children, done in plans:
        if done is not None:
            continue
        include = references_result(template, str(planned["name"]))
        for child_name, child in children or [(str(planned["name"]), dict(planned))]:
            hooks = NodeHooks(
                run, child, f"steps.{child_name}", lambda: Scope(dict(scope.values), dict(scope.artifacts))
            )
            hook_sets.append(hooks)
            jobs.append(_job(run, f"{group_node.name}.{child_name}", child_name, child, group_node, include, hooks))
            owners.append(planned["name"])
    results = run_parallel(jobs, limit)
    hook_error = next((h.error for h in hook_sets if h.error), "")
    if hook_error:
        return None, hook_error  # executeStepGroup: a hook that cannot be evaluated errors the step group
    return _record(run, plans, owners, results, scope)


def _job(
    run: RunContext, name: str, display: str, body: dict[str, Any], parent: Node, include: bool, hooks: NodeHooks
) -> Any:
    return lambda: run_child(run, name, display, body, parent, include, hooks)


def _record(
    run: RunContext, plans: list[Any], owners: list[str], results: list[Node], scope: Scope
) -> tuple[Node | None, str]:
    """Add the group's steps to the scope; (the first child failing the group, an aggregation error)."""
    failed: Node | None = None
    for body, children, done in plans:
        mine = [n for owner, n in zip(owners, results, strict=True) if owner == body["name"]]
        nodes = [done] if done is not None else mine
        prefix = f"steps.{body['name']}"
        if children:
            try:
                scope.add_aggregate(prefix, mine)
            except AggregateError as e:
                return None, str(e)
        for node in nodes:
            if not children:
                add_settled(run, scope, prefix, node, body)
            if node.phase in BAD and not continues_on(body, node.phase.value) and failed is None:
                failed = node
    return failed, ""
