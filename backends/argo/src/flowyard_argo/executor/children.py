"""What steps and DAG tasks share: resolving references (``resolveReferences``/``resolveDependencyReferences``),
``when``, loop expansion into named children, and running children side by side within a parallelism limit."""

from __future__ import annotations

import contextlib
import posixpath
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor import gojson
from flowyard_argo.executor.arguments import ABSENT_OPTIONAL
from flowyard_argo.executor.context import ExecutionError, RunContext
from flowyard_argo.executor.engine import Boundary, execute
from flowyard_argo.executor.expr.controller import artifact_value
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.govaluate import WhenError, should_execute
from flowyard_argo.executor.hooks import NodeHooks
from flowyard_argo.executor.loops import LoopError, loop_items, process_item
from flowyard_argo.executor.nodes import SKIPPED, Node
from flowyard_argo.executor.scope import Scope
from flowyard_argo.executor.template import TemplateError, replace_json

STRICT = ("steps", "tasks")
LOOP_FIELDS = ("withItems", "withParam", "withSequence")


def scope_values(run: RunContext, scope: Scope) -> dict[str, str | None]:
    """``scope.getParametersAny(globalParams)``: the globals, overridden by the local scope."""
    with run.lock:
        values = dict(run.globals)
    values.update(scope.values)
    return values


def evaluate_when(run: RunContext, body: Mapping[str, Any], scope: Scope) -> tuple[bool, str]:
    """(whether the step/task runs, its resolved ``when``)."""
    when = body.get("when") or ""
    if not when:
        return True, ""
    strict = STRICT if run.version.strict_references else ()
    try:
        text = replace_json(
            gojson.marshal_string(when),
            scope_values(run, scope),
            allow_unresolved=True,
            strict_prefixes=strict,
            version=run.version,
        )
        resolved = gojson.decode(text)
        return should_execute(resolved), resolved
    except (TemplateError, WhenError) as e:
        if is_loop(body):
            return True, ""  # a loop's condition may name {{item}}: each child decides (ShouldExpand)
        raise ExecutionError(str(e)) from None


def run_child(
    run: RunContext,
    name: str,
    display: str,
    body: Mapping[str, Any],
    parent: Node,
    include: bool,
    hooks: NodeHooks | None = None,
    boundary: Boundary | None = None,
) -> Node:
    """Run one step/task (or loop child), unless its own, now resolved, ``when`` is false; then its hooks."""
    when = body.get("when") or ""
    try:
        proceed = should_execute(when)
    except WhenError as e:
        return run.tree.create(name, display, SKIPPED, body.get("template") or "", parent).finish(
            TaskState.ERROR, str(e)
        )
    if not proceed:
        skipped = run.tree.create(name, display, SKIPPED, body.get("template") or "", parent)
        return skipped.finish(TaskState.SKIPPED, f"when '{when}' evaluated false")
    artifacts = {a["name"]: a for a in (body.get("arguments") or {}).get("artifacts") or []}
    if hooks is None or not hooks.any:
        return execute(run, name, display, body, parent, artifacts, include, boundary=boundary)
    node = execute(run, name, display, body, parent, artifacts, include, hooks.observe, boundary)
    hooks.finish(node)
    return node


def resolve_body(run: RunContext, body: Mapping[str, Any], scope: Scope, *, strict: bool = True) -> dict[str, Any]:
    """The step/task with scope tags replaced (``steps``/``tasks`` tags must resolve, unless not ``strict``: a
    hook's arguments, ``resolveExitTmplArgument``) and ``from`` artifacts found; its ``hooks`` left as written."""
    plain = {k: v for k, v in body.items() if k != "hooks"}
    if run.version.absent_optionals:
        plain = _mark_absent_optionals(plain, scope)
    prefixes = STRICT if run.version.strict_references and strict else ()
    try:
        text = replace_json(
            gojson.marshal(plain),
            scope_values(run, scope),
            allow_unresolved=True,
            strict_prefixes=prefixes,
            version=run.version,
        )
    except TemplateError as e:
        raise ExecutionError(str(e)) from None
    resolved: dict[str, Any] = gojson.decode(text)
    if body.get("hooks") is not None:
        resolved["hooks"] = body["hooks"]  # resolved when they run, against the node's own status and outputs
    arguments = resolved.get("arguments") or {}
    artifacts = []
    for art in arguments.get("artifacts") or []:
        source = str(art.get("from") or "").strip()
        if art.get("fromExpression"):
            chosen = _from_expression(run, scope, art)
            if chosen is not None:
                artifacts.append(chosen)
            continue
        if not source:
            artifacts.append(art)
            continue
        key = source[2:-2].strip() if source.startswith("{{") and source.endswith("}}") else source
        found = scope.artifacts.get(key) or run.global_artifacts.get(key)
        if found is None:
            if art.get("optional"):
                continue
            raise ExecutionError(f"unable to resolve references: Unable to resolve: {source}")
        chosen = {**found, "name": art["name"]}
        artifacts.append(with_sub_path(chosen, str(art["subPath"])) if art.get("subPath") else chosen)
    if arguments:
        resolved["arguments"] = {**arguments, "artifacts": artifacts}
    return resolved


def with_sub_path(art: Mapping[str, Any], sub_path: str) -> dict[str, Any]:
    """``scope.go`` ``resolveArtifact``: an argument's ``subPath`` (already substituted) appended to the artifact's
    location (``AppendToKey``): a file or folder inside the artifact, never above it."""
    clean = posixpath.normpath("/" + sub_path).lstrip("/")
    out = dict(art)
    if art.get("_local"):
        out["_local"] = str(Path(art["_local"]) / clean)
    s3 = art.get("s3")
    if isinstance(s3, Mapping) and s3.get("key"):
        out["s3"] = {**s3, "key": posixpath.join(str(s3["key"]), clean)}
    return out


def _from_expression(run: RunContext, scope: Scope, art: Mapping[str, Any]) -> dict[str, Any] | None:
    """``resolveArtifact`` for an argument's ``fromExpression`` (``resolveDependencyReferences``)."""
    try:
        found = artifact_value(
            str(art["fromExpression"]),
            scope_values(run, scope),
            {**run.global_artifacts, **scope.artifacts},
            legacy=run.version.pkg_expr_functions,
        )
    except ExprError as e:
        if art.get("optional"):
            return None
        raise ExecutionError(f"unable to resolve references: {e}") from None
    return {**found, "name": art["name"]}


def _mark_absent_optionals(body: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """``markAbsentOptionalArgs``: arguments that purely reference an absent optional get the sentinel."""
    arguments = body.get("arguments") or {}
    params = arguments.get("parameters") or []
    if not any(scope.absent_reference(p.get("value")) for p in params):
        return body
    marked = [{**p, "value": ABSENT_OPTIONAL} if scope.absent_reference(p.get("value")) else p for p in params]
    return {**body, "arguments": {**arguments, "parameters": marked}}


def expand(run: RunContext, body: Mapping[str, Any], scope: Scope) -> list[tuple[str, dict[str, Any]]] | None:
    """``expandStep``/``expandTask``: ``(child name, child body)`` per item, ``None`` without a loop."""
    try:
        items = loop_items(body)
        if items is None:
            return None
        loopless = {k: v for k, v in body.items() if k not in ("withItems", "withParam", "withSequence")}
        values = scope_values(run, scope)
        children = []
        for index, item in enumerate(items):
            name, child = process_item(loopless, str(body["name"]), index, item, values, run.version)
            child["name"], child["template"] = name, body.get("template")
            children.append((name, child))
        return children
    except (LoopError, TemplateError) as e:
        raise ExecutionError(str(e)) from None


def loop_not_run(
    run: RunContext, body: Mapping[str, Any], scope: Scope, when: str
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """A loop step/task whose ``when`` is false, and its items, each of which that ``when`` skips
    (``resolveReferences``/``resolveDependencyReferences``, then ``expandStep``/``expandTask``): v3 replaces the whole
    step/task before it reads the ``when``, so its items expand; v4 returns it with only its ``when`` resolved, and a
    ``withParam`` or ``withSequence`` it cannot read then gives no items (the ``when`` is false: ``mustExec``), as
    does an empty list: a Skipped node "Skipped, empty params"."""
    resolved: dict[str, Any] = {**body, "when": when}
    if not run.version.when_first:
        with contextlib.suppress(ExecutionError):  # an artifact ``from`` is resolved only once the ``when`` holds
            resolved = resolve_body(run, body, scope)
    try:
        return resolved, expand(run, resolved, scope) or []
    except ExecutionError:
        return resolved, []


def is_loop(body: Mapping[str, Any]) -> bool:
    """``ShouldExpand``: ``withItems`` not empty, ``withParam`` or ``withSequence`` set."""
    return any(body.get(k) for k in LOOP_FIELDS)


def add_settled(run: RunContext, scope: Scope, prefix: str, node: Node, holder: Mapping[str, Any]) -> None:
    """A node that will not run enters the scope: in v4 with its outputs as defaults or absent optionals."""
    if not run.version.absent_optionals or node.phase not in (TaskState.SKIPPED, TaskState.OMITTED):
        scope.add_node(prefix, node)
        return
    try:
        template: Mapping[str, Any] | None = run.template(holder)
    except ExecutionError:
        template = None
    scope.add_skipped(prefix, node, template)


def run_parallel(jobs: Sequence[Callable[[], Any]], limit: int | None) -> list[Any]:
    """Run ``jobs`` in threads, at most ``limit`` at once; results in job order."""
    results: list[Any] = [None] * len(jobs)
    slots = threading.BoundedSemaphore(limit) if limit else None

    def worker(i: int) -> None:
        if slots is not None:
            slots.acquire()
        try:
            results[i] = jobs[i]()
        finally:
            if slots is not None:
                slots.release()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def continues_on(body: Mapping[str, Any], phase: str) -> bool:
    """``ContinuesOn``: a Failed/Error child that ``continueOn`` lets the group go past."""
    continue_on = body.get("continueOn") or {}
    return (phase == "Failed" and bool(continue_on.get("failed"))) or (
        phase == "Error" and bool(continue_on.get("error"))
    )
