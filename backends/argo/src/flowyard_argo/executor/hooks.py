"""Lifecycle hooks and exit handlers: ``workflow/controller/hooks.go`` (``executeTmplLifeCycleHook``,
``executeWfLifeCycleHook``) and ``exit_handler.go`` (``runOnExitNode``, ``resolveExitTmplArgument``).

The controller evaluates a hook's ``expression`` at every reconciliation while its node exists; here it is evaluated
at each phase the node passes (``Pending`` for a pod, ``Running``, then its final phase) and, while the node is
active, again at every change elsewhere in the run (:mod:`reconcile`: a node's phase, a global output), and a
hook that fired once runs once, beside the node, as ``<node>.hooks.<hook>``. The ``exit`` hook (or ``onExit``) runs
once the node completed (Succeeded, Failed or Error, never Skipped/Omitted) as ``<node>.onExit``. Hook and exit
nodes are the node's children flagged ``hooked``; the parent waits for them, and their phase never changes the
parent's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flowyard.runs import TaskState
from flowyard_argo.executor.context import ExecutionError, RunContext
from flowyard_argo.executor.expr.controller import eval_bool
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.nodes import Node
from flowyard_argo.executor.scope import Scope

if TYPE_CHECKING:
    from flowyard_argo.executor.engine import Boundary

EXIT = "exit"
COMPLETED = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.ERROR)
# workflow/controller/operator.go operate(): the root node's phase as workflow.status
WORKFLOW_STATUS = {
    TaskState.PENDING: "Pending",
    TaskState.RUNNING: "Running",
    TaskState.SUCCEEDED: "Succeeded",
    TaskState.SKIPPED: "Succeeded",
    TaskState.OMITTED: "Succeeded",
    TaskState.FAILED: "Failed",
    TaskState.ERROR: "Error",
}


def exit_hook(holder: Mapping[str, Any], workflow_arguments: Mapping[str, Any]) -> dict[str, Any] | None:
    """``GetExitHook``: ``onExit`` (called with the workflow's arguments), else ``hooks.exit`` (with the
    workflow's arguments when it has none of its own)."""
    if holder.get("onExit"):
        return {"template": holder["onExit"], "arguments": dict(workflow_arguments)}
    hook = (holder.get("hooks") or {}).get(EXIT)
    if hook is None:
        return None
    arguments = hook.get("arguments") or {}
    empty = not arguments.get("parameters") and not arguments.get("artifacts")
    return {**hook, "arguments": dict(workflow_arguments) if empty else arguments}


class NodeHooks:
    """The hooks of one step or task (or loop item): fired while its node runs, the exit hook after it.

    ``prefix`` is ``steps.<name>``/``tasks.<name>``: where the node's status (and, for hook arguments, its
    outputs) enter the scope; ``scope_of`` gives a copy of the template's scope as it is now."""

    def __init__(
        self,
        run: RunContext,
        holder: Mapping[str, Any],
        prefix: str,
        scope_of: Callable[[], Scope],
        *,
        expressions: bool = True,
        boundary: Boundary | None = None,
    ) -> None:
        self.run, self.prefix, self.scope_of, self.boundary = run, prefix, scope_of, boundary
        given = (holder.get("hooks") or {}) if expressions else {}
        self.hooks = {k: v for k, v in given.items() if k != EXIT}
        self.exit = exit_hook(holder, run.spec.get("arguments") or {})
        self.threads: dict[str, threading.Thread] = {}
        self.error = ""
        self.lock = threading.Lock()
        # evaluated again at each change elsewhere in the run while the node is active (each reconciliation),
        # until it ended and its hooks were looked at a last time
        self.watching = False
        self.closed = False

    @property
    def any(self) -> bool:
        return bool(self.hooks) or self.exit is not None

    def observe(self, node: Node) -> None:
        """``executeTmplLifeCycleHook``: start each hook whose expression holds now (once)."""
        if self.hooks and not self.watching and not self.closed:
            self.watching = True
            self.run.reconciler.watch(id(self), lambda: self.observe(node))
        for name, hook in self.hooks.items():
            with self.lock:
                if name in self.threads or self.error or self.closed or self._stopped():
                    continue
                scope = self._scope(node, with_outputs=False)
                try:
                    fire = self._holds(hook, f"{node.name}.hooks.{name}", scope)
                except ExecutionError as e:
                    self.error = str(e)
                    return
                if not fire:
                    continue
                args = hook.get("arguments") or {}
                given = self._scope(node, with_outputs=True) if _has_arguments(args) and node.outputs else None
                job = threading.Thread(target=self._run, args=(node, name, hook, given), daemon=True)
                self.threads[name] = job
                job.start()

    def finish(self, node: Node) -> None:
        """The node ended: a last look at the expressions, wait for the hooks, then the exit hook."""
        self.run.reconciler.unwatch(id(self))
        self.observe(node)
        with self.lock:
            self.closed = True
        for job in list(self.threads.values()):
            job.join()
        if self.error or self.exit is None or node.phase not in COMPLETED or self._stopped():
            return
        if self.exit.get("expression"):
            try:
                if not self._holds(self.exit, f"{node.name}.onExit", self._scope(node, with_outputs=False)):
                    return
            except ExecutionError as e:
                self.error = str(e)
                return
        scope = self._scope(node, with_outputs=True)
        hook = self.exit
        run_hook(
            self.run, node, f"{node.name}.onExit", f"{node.display_name}.onExit", hook, scope, boundary=self.boundary
        )

    def _stopped(self) -> bool:
        """The hooks run from ``executeDAGTask``, which a DAG its ``failFast`` stopped no longer reaches."""
        return self.boundary is not None and self.boundary.stopped()

    def _scope(self, node: Node, *, with_outputs: bool) -> Scope:
        """``resolveExitTmplArgument``'s scope: the template's, the node's status and (for arguments) outputs."""
        scope = self.scope_of()
        if with_outputs:
            for param in node.outputs.get("parameters") or []:
                value = param.get("value")
                scope.values[f"{self.prefix}.outputs.parameters.{param['name']}"] = "" if value is None else value
            for art in node.outputs.get("artifacts") or []:
                scope.artifacts[f"{self.prefix}.outputs.artifacts.{art['name']}"] = art
        scope.values[f"{self.prefix}.status"] = node.phase.value
        return scope

    def _holds(self, hook: Mapping[str, Any], hook_node: str, scope: Scope) -> bool:
        from flowyard_argo.executor.children import scope_values

        expression = str(hook.get("expression") or "")
        if not expression:
            raise ExecutionError(f"Expression required for hook {hook_node}")
        try:
            return eval_bool(expression, scope_values(self.run, scope), legacy=self.run.version.pkg_expr_functions)
        except ExprError as e:
            raise ExecutionError(str(e)) from None

    def _run(self, node: Node, name: str, hook: Mapping[str, Any], scope: Scope | None) -> None:
        hooked, display = f"{node.name}.hooks.{name}", f"{node.display_name}.hooks.{name}"
        run_hook(self.run, node, hooked, display, hook, scope, boundary=self.boundary)


def _has_arguments(arguments: Mapping[str, Any]) -> bool:
    return bool(arguments.get("parameters") or arguments.get("artifacts"))


def run_hook(
    run: RunContext,
    parent: Node | None,
    name: str,
    display: str,
    hook: Mapping[str, Any],
    scope: Scope | None,
    include_result: bool = False,
    *,
    boundary: Boundary | None = None,
) -> Node:
    """Run a hook's template as the hooked node ``name``; its arguments resolved against ``scope`` (``None``:
    passed as written, as ``executeTmplLifeCycleHook`` does before the node has outputs)."""
    from flowyard_argo.executor.children import resolve_body
    from flowyard_argo.executor.engine import execute

    if display.endswith(".onExit"):  # IsPartOfExitHandler: an exit handler's pods outlive the workflow's deadline
        run = replace(run, deadline=None)
    holder: dict[str, Any] = {"template": hook.get("template") or "", "arguments": hook.get("arguments") or {}}
    if hook.get("templateRef") is not None:
        holder["templateRef"] = hook["templateRef"]
    if scope is not None and _has_arguments(holder["arguments"]):
        try:
            holder = resolve_body(run, holder, scope, strict=False)
        except ExecutionError as e:
            errored = run.tree.create(name, display, "Skipped", holder["template"], parent)
            errored.hooked = True
            return errored.finish(TaskState.ERROR, str(e))
    artifacts = {a["name"]: a for a in holder["arguments"].get("artifacts") or []}
    node = execute(run, name, display, holder, parent, artifacts, include_result, boundary=boundary)
    node.hooked = True
    if boundary is not None:
        boundary.ended(node)  # executeDAGTask runs a task's hooks with the DAG as their boundary
    return node


class WorkflowHooks:
    """``executeWfLifeCycleHook``: the workflow's expression hooks over the globals (``workflow.status`` the root
    node's phase), as children ``<workflow>.hooks.<hook>`` of the root node."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.hooks = {k: v for k, v in (run.spec.get("hooks") or {}).items() if k != EXIT}
        self.threads: list[threading.Thread] = []
        self.fired: set[str] = set()
        self.error = ""
        self.lock = threading.Lock()
        self.closed = False

    def observe(self, root: Node) -> None:
        """The root node changed phase; from then on any change in the run is looked at too (each reconciliation)."""
        if self.hooks and not self.closed:
            self.run.reconciler.watch(id(self), lambda: self._look(root))
        self._look(root)

    def _look(self, root: Node) -> None:
        with self.lock:
            if self.closed:
                return
            # operate() sets it (setGlobalRuntimeParameters: the workflow's phase, Running, for later pods too)
            self.run.set_global("workflow.status", WORKFLOW_STATUS.get(root.phase, root.phase.value))
            values = dict(self.run.globals)
            for name, hook in self.hooks.items():
                if name in self.fired or self.error:
                    continue
                try:
                    fire = eval_bool(
                        str(hook.get("expression") or ""),
                        values,
                        legacy=self.run.version.pkg_expr_functions,
                    )
                except ExprError as e:
                    self.error = str(e)
                    return
                if fire:
                    self.fired.add(name)
                    hook_name = f"{self.run.name}.hooks.{name}"
                    job = threading.Thread(
                        target=run_hook, args=(self.run, root, hook_name, hook_name, hook, Scope()), daemon=True
                    )
                    self.threads.append(job)
                    job.start()

    def finish(self, root: Node) -> None:
        """A last look with the final ``workflow.status`` (kept for the exit handler); then wait for every hook."""
        self.run.reconciler.unwatch(id(self))
        self._look(root)
        with self.lock:
            self.closed = True
            threads = list(self.threads)
        for job in threads:
            job.join()
