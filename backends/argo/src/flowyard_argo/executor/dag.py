"""``dag`` templates (``workflow/controller/dag.go`` ``executeDAG``/``executeDAGTask``/``assessDAGPhase``).

A task starts once every dependency is fulfilled and its ``depends`` logic holds (else it is Omitted); a loop task
gets a TaskGroup node whose children are the items (a loop over none: a Skipped node, "Skipped, empty params").
Tasks without dependencies hang under the DAG node, the others under their dependencies. The DAG's phase is read
from its target tasks (``target``, else the leaves) once none of its tasks runs (``assessDAGPhase`` says Running
while one does): a target whose branch failed fails it (unless ``continueOn`` allows); ``dag.failFast`` decides only
that phase. What stops a DAG starting tasks and items after a failure is its template's own ``failFast`` (unset is
false, ``Template.IsFailFast``): ``operator.go`` ``checkParallelism`` starts nothing more in a DAG with a failed or
errored child (:meth:`_Dag.ended` says which count: a retried task's failed attempt does, so its retry never starts),
and fails it once none of its pods runs (argo-workflows 5223, 5398).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
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
from flowyard_argo.executor.depends import DependsError, dependency_names, depends_logic, evaluate
from flowyard_argo.executor.engine import execute, references_result, template_outputs
from flowyard_argo.executor.hooks import NodeHooks
from flowyard_argo.executor.nodes import BAD, DAG, EMPTY_LOOP, POD, SKIPPED, STEPS, TASK_GROUP, Node
from flowyard_argo.executor.scope import AggregateError, Scope

COUNTED = (POD, STEPS, DAG)  # node_counters.go getUnsuccessfulChildrenCounter


class _Dag:
    def __init__(self, run: RunContext, node: Node, template: Mapping[str, Any]) -> None:
        self.run, self.node, self.template = run, node, template
        dag = template.get("dag") or {}
        self.tasks: dict[str, Mapping[str, Any]] = {t["name"]: t for t in dag.get("tasks") or []}
        self.deps = {name: dependency_names(t, self.tasks) for name, t in self.tasks.items()}
        depended = {d for deps in self.deps.values() for d in deps}
        target = str(dag.get("target") or "")
        self.targets = target.split() if target else [n for n in self.tasks if n not in depended]
        self.fail_fast = dag.get("failFast") is not False  # assessDAGPhase: the phase only
        self.stops_starting = template.get("failFast") is True  # checkParallelism: Template.IsFailFast
        self.unsuccessful = False  # a node counted in this DAG failed or errored
        self.limit = int(template["parallelism"]) if template.get("parallelism") else None
        self.scope = Scope.of_template(template)
        self.nodes: dict[str, Node] = {}
        self.running: set[str] = set()
        self.cond = threading.Condition()
        self.slots = threading.BoundedSemaphore(self.limit) if self.limit else None

    def needed(self) -> list[str]:
        """The targets and their ancestors, in manifest order."""
        seen: set[str] = set()
        stack = list(self.targets)
        while stack:
            name = stack.pop()
            if name not in seen and name in self.tasks:
                seen.add(name)
                stack.extend(self.deps[name])
        return [n for n in self.tasks if n in seen]

    def parent_of(self, name: str) -> Node:
        deps = self.deps[name]
        return self.nodes[deps[0]] if deps else self.node

    def link(self, name: str, created: Node) -> None:
        for dep in self.deps[name][1:]:
            self.nodes[dep].children.append(created.id)

    def ready(self, name: str) -> bool | None:
        """True to run, False to omit, None while a dependency is not fulfilled."""
        if any(d not in self.nodes or not self.nodes[d].fulfilled or d in self.running for d in self.deps[name]):
            return None
        task = self.tasks[name]
        if not task.get("depends") and not task.get("dependencies"):
            return True
        results = {d.replace("-", "_"): self._results(self.nodes[d]) for d in self.deps[name]}
        return evaluate(depends_logic(task, self.tasks), results)

    def _results(self, node: Node) -> dict[str, bool]:
        children = [self.run.tree.nodes[c] for c in node.children] if node.type == TASK_GROUP else []
        return {
            "Succeeded": node.phase is TaskState.SUCCEEDED,
            "Failed": node.phase is TaskState.FAILED,
            "Errored": node.phase is TaskState.ERROR,
            "Skipped": node.phase is TaskState.SKIPPED,
            "Omitted": node.phase is TaskState.OMITTED,
            "Daemoned": False,
            "AnySucceeded": any(c.phase is TaskState.SUCCEEDED for c in children),
            "AllFailed": bool(children) and all(c.phase is TaskState.FAILED for c in children),
        }

    def branch(self, name: str) -> TaskState | None:
        """``assessDAGPhase``'s branch phase of a task: its own when completed, else its dependencies'."""
        node = self.nodes.get(name)
        if node is None or not node.fulfilled:
            return None
        if node.phase in (TaskState.SUCCEEDED, *BAD):
            return node.phase
        inherited = [self.branch(d) for d in self.deps[name]]
        return next((p for p in inherited if p in BAD), TaskState.SUCCEEDED)

    def ended(self, node: Node) -> None:
        """``getUnsuccessfulChildren`` counts a node of this DAG (a task, an item, a retry's attempt) that is a Pod,
        Steps or DAG node and Failed or Errored; not a Retry, TaskGroup or Skipped node (an error before a pod)."""
        with self.cond:
            self.unsuccessful |= node.type in COUNTED and node.phase in BAD

    def stopped(self) -> bool:
        """``checkParallelism``: the template's own ``failFast`` and a failed or errored node counted in this DAG."""
        return self.stops_starting and self.unsuccessful

    def phase(self) -> TaskState | None:
        """The DAG's phase from its targets, ``None`` while it is still running."""
        result: TaskState | None = TaskState.SUCCEEDED
        for name in self.targets:
            branch = self.branch(name)
            if branch is None:
                result = None
                if not self.fail_fast:
                    break
            elif branch in BAD and not continues_on(self.tasks[name], branch.value):
                result = branch
                if self.fail_fast:
                    break
        return result


FAIL_FAST_MESSAGE = "template has failed or errored children and failFast enabled"  # checkParallelism


def run_dag(run: RunContext, node: Node, template: Mapping[str, Any]) -> None:
    state = _Dag(run, node, template)
    with state.cond:
        while True:
            started = _schedule(state)
            if not state.running and not started:
                break
            if not started:
                state.cond.wait()
        while state.running:
            state.cond.wait()
        final = TaskState.FAILED if state.stopped() else state.phase() or TaskState.SUCCEEDED
    if final in BAD:
        node.finish(final, FAIL_FAST_MESSAGE if state.stopped() else _failure_message(state))
        return
    try:
        node.outputs = template_outputs(
            template,
            {**run.globals, **state.scope.values},
            {**run.global_artifacts, **state.scope.artifacts},
            legacy=run.version.pkg_expr_functions,
        )
    except ExecutionError as e:
        node.finish(TaskState.ERROR, str(e))
        return
    node.finish(TaskState.SUCCEEDED)


def _failure_message(state: _Dag) -> str:
    failed = [n for n in state.nodes.values() if n.phase in BAD]
    return f"task '{failed[0].name}' failed" if failed else ""


def _schedule(state: _Dag) -> bool:
    """Start (or omit) every task that can be decided now; whether anything was."""
    progressed = False
    for name in state.needed():
        if name in state.nodes or name in state.running:
            continue
        task = state.tasks[name]
        node_name = f"{state.node.name}.{name}"
        try:
            decision = state.ready(name)
        except DependsError as e:
            _settle(state, name, node_name, TaskState.ERROR, str(e))
            progressed = True
            continue
        if decision is None:
            continue
        progressed_before, progressed = progressed, True  # omitted, skipped, errored or started
        if decision is False:
            _settle(state, name, node_name, TaskState.OMITTED, "omitted: depends condition not met")
            continue
        try:
            proceed, when = evaluate_when(state.run, task, state.scope)
            if not proceed and not is_loop(task):
                _settle(state, name, node_name, TaskState.SKIPPED, f"when '{when}' evaluated false")
                continue
            if proceed:
                body = resolve_body(state.run, task, state.scope)
                children = expand(state.run, body, state.scope)
            else:  # a loop: its items are Skipped nodes under a TaskGroup, or it has none
                body, children = loop_not_run(state.run, task, state.scope, when)
        except ExecutionError as e:
            _settle(state, name, node_name, TaskState.ERROR, str(e))
            continue
        if children == []:  # executeDAGTask: a loop over no items is a Skipped node, not a TaskGroup
            _settle(state, name, node_name, TaskState.SKIPPED, EMPTY_LOOP)
            continue
        if state.stopped():  # checkParallelism refuses executeTemplate only: what is omitted or skipped still is
            progressed = progressed_before
            continue
        _start(state, name, body, children)
    return progressed


def _settle(state: _Dag, name: str, node_name: str, phase: TaskState, message: str) -> None:
    created = state.run.tree.create(
        node_name, name, SKIPPED, state.tasks[name].get("template") or "", state.parent_of(name)
    )
    state.link(name, created)
    state.nodes[name] = created.finish(phase, message)
    add_settled(state.run, state.scope, f"tasks.{name}", created, state.tasks[name])
    hooks = _hooks(state, name, state.tasks[name])
    if phase is TaskState.ERROR and hooks.any:  # executeDAGTask: a completed node (Error too) gets its exit hook
        state.running.add(name)

        def settle_hooks() -> None:
            hooks.finish(created)
            with state.cond:
                state.running.discard(name)
                state.cond.notify_all()

        threading.Thread(target=settle_hooks, daemon=True).start()


def _artifacts_of(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in (body.get("arguments") or {}).get("artifacts") or []}


def _start(state: _Dag, name: str, body: dict[str, Any], children: list[tuple[str, dict[str, Any]]] | None) -> None:
    """Start a task (or its loop's TaskGroup) in a thread of its own; ``_finished`` records it."""
    run = state.run
    parent = state.parent_of(name)
    state.running.add(name)
    include = references_result(state.template, name)
    if children is None:
        task_name = f"{state.node.name}.{name}"

        def single() -> None:
            hooks = _hooks(state, name, body)
            if state.slots is not None:
                state.slots.acquire()
            try:
                arts = _artifacts_of(body)
                created = execute(run, task_name, name, body, parent, arts, include, hooks.observe, state)
            finally:
                if state.slots is not None:
                    state.slots.release()
            hooks.finish(created)
            if hooks.error:
                created.finish(TaskState.ERROR, hooks.error)  # executeDAGTask marks the task's node
            _finished(state, name, created, None)

        threading.Thread(target=single, daemon=True).start()
        return
    group = run.tree.create(f"{state.node.name}.{name}", name, TASK_GROUP, body.get("template") or "", parent)
    state.link(name, group)
    group.phase = TaskState.RUNNING
    state.nodes[name] = group

    def item_job(child_name: str, child: dict[str, Any]) -> Callable[[], Node | None]:
        node_name = f"{state.node.name}.{child_name}"
        hooks = _hooks(state, name, child, expressions=False)  # processTask: an item gets its exit hook only

        def job() -> Node | None:
            with state.cond:
                if state.stopped():
                    return None  # checkParallelism: no item of this DAG starts after a failure
            return run_child(run, node_name, child_name, child, group, include, hooks, state)  # execute counts it

        return job

    def loop() -> None:
        hooks = _hooks(state, name, body)  # executeDAGTask: the TaskGroup node has the task's hooks too
        hooks.observe(group)
        ran = run_parallel([item_job(n, c) for n, c in children], state.limit)
        nodes = [n for n in ran if n is not None]
        bad = [n for n in nodes if n.phase in BAD]
        if all(n.fulfilled for n in nodes):  # else an item's Retry node the DAG stopped: the group stays Running too
            group.finish(bad[0].phase if bad else TaskState.SUCCEEDED if nodes else TaskState.SKIPPED)
        hooks.finish(group)
        if hooks.error:
            group.finish(TaskState.ERROR, hooks.error)
        _finished(state, name, group, nodes)

    threading.Thread(target=loop, daemon=True).start()


def _hooks(state: _Dag, name: str, body: Mapping[str, Any], *, expressions: bool = True) -> NodeHooks:
    """A task's hooks; its status (and outputs) enter the scope as ``tasks.<task>`` (for a loop item too)."""

    def scope_of() -> Scope:
        with state.cond:
            return Scope(dict(state.scope.values), dict(state.scope.artifacts))

    return NodeHooks(state.run, body, f"tasks.{name}", scope_of, expressions=expressions, boundary=state)


def _finished(state: _Dag, name: str, node: Node, items: list[Node] | None) -> None:
    with state.cond:
        if items is None:
            state.ended(node)  # again: its hooks may have errored it (a loop's items are counted as they end)
            state.nodes[name] = node
            for dep in state.deps[name][1:]:
                state.nodes[dep].children.append(node.id)
        elif node.fulfilled:
            try:
                state.scope.add_aggregate(f"tasks.{name}", items)
            except AggregateError as e:
                node.finish(TaskState.ERROR, str(e))
        state.scope.add_node(f"tasks.{name}", node)
        state.running.discard(name)
        state.cond.notify_all()
