"""Running one template invocation: ``executeTemplate`` (``workflow/controller/operator.go``) for this machine.

A node is created when the template starts (the tree unfolds as the run goes, so recursion works); inputs are bound
and substituted, the template runs by kind (pod, steps, dag, suspend), retries wrap it in a Retry node, and its
outputs (and ``globalName`` outputs) are recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from flowyard.runs import TaskState
from flowyard_argo.executor import gojson
from flowyard_argo.executor.arguments import bind_inputs, substitute_template
from flowyard_argo.executor.context import DEADLINE_EXCEEDED, ExecutionError, RunContext, past_deadline
from flowyard_argo.executor.expr.controller import artifact_value, parameter_value
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.guarded import configmap_inputs, run_guarded
from flowyard_argo.executor.leaf import run_leaf
from flowyard_argo.executor.nodes import DAG, POD, RETRY, SKIPPED, STEPS, Node
from flowyard_argo.executor.retry import expression_stops, retry_delay, should_retry
from flowyard_argo.executor.template import TemplateError, replace_json

_KIND_NODE = {"container": POD, "script": POD, "steps": STEPS, "dag": DAG, "suspend": "Suspend"}


def node_type(template: Mapping[str, Any]) -> str:
    return next((kind for key, kind in _KIND_NODE.items() if template.get(key) is not None), POD)


class Boundary(Protocol):
    """The DAG a node is counted in (its ``boundaryID``): ``checkParallelism`` starts nothing more in it once a
    node it counts failed, if its template fails fast (``dag.py``)."""

    def ended(self, node: Node) -> None: ...

    def stopped(self) -> bool: ...


def execute(
    run: RunContext,
    name: str,
    display: str,
    holder: Mapping[str, Any],
    parent: Node | None,
    artifacts: Mapping[str, dict[str, Any]],
    include_result: bool = False,
    observe: Callable[[Node], None] | None = None,
    boundary: Boundary | None = None,
) -> Node:
    """Run the template ``holder`` names with its arguments; return its node, finished unless its DAG stopped it.

    ``include_result``: whether the pod's stdout is kept as ``outputs.result`` (``includeScriptOutput``);
    ``observe``: called as the node enters each phase before its last (its lifecycle hooks look at it);
    ``boundary``: the DAG that counts the node, and a retry's attempts, for its ``failFast`` (``None`` for a steps
    template's, not modelled).
    """
    try:
        template = run.template(holder)
    except ExecutionError as e:  # initializeNodeOrMarkError: before its node, a Skipped node in Error (no pod)
        node = run.tree.create(name, display, SKIPPED, holder.get("template") or "", parent)
        return node.finish(TaskState.ERROR, str(e))
    call = _Invocation(
        name, display, template, holder.get("arguments") or {}, parent, artifacts, include_result, observe, boundary
    )
    if template.get("retryStrategy") is not None:
        try:
            _processed(run, call)  # executeTemplate: ProcessArgs comes before the Retry node
        except ExecutionError as e:
            return _errored_before_its_node(run, call, str(e))
        return _with_retries(run, call)
    node = _once(run, call)
    if boundary is not None:
        boundary.ended(node)  # before its hooks look: a stopped DAG runs none (dag.py)
    return node


FAULTS_FILE = "executor-faults.log"  # in the run folder: what went wrong in the executor itself


@dataclass(frozen=True)
class _Invocation:
    """One call of a template: where its node goes in the tree and what it is given (``execute``'s arguments)."""

    name: str
    display: str
    template: Mapping[str, Any]
    arguments: Mapping[str, Any]
    parent: Node | None
    artifacts: Mapping[str, dict[str, Any]]
    include_result: bool
    observe: Callable[[Node], None] | None
    boundary: Boundary | None
    attempt: Mapping[str, str] = field(default_factory=dict)  # an attempt's ``retries`` and ``lastRetry.*``


def _once(run: RunContext, call: _Invocation) -> Node:
    name, template, observe = call.name, call.template, call.observe
    try:
        params, resolved = _processed(run, call)
    except ExecutionError as e:
        return _errored_before_its_node(run, call, str(e))
    except Exception as e:  # noqa: BLE001 - a fault of ours: its node errors and the run goes on to its end
        errored = _errored_before_its_node(run, call, "")
        errored.message = _fault(run, errored, e)
        return errored
    node = run.tree.create(name, call.display, node_type(template), template.get("name") or "", call.parent)
    if observe is not None and node.type == POD:
        observe(node)  # a pod's node is created Pending; steps/dag nodes start Running
    node.phase = TaskState.RUNNING
    run.reconciler.changed()
    if observe is not None:
        observe(node)
    node.inputs = {"parameters": [{"name": p["name"], "value": p.get("value")} for p in params]}
    kept = run.previous.get(name)
    try:
        if node.type == POD and kept is not None and kept.get("phase") == TaskState.SUCCEEDED.value:
            node.outputs = dict(kept.get("outputs") or {})  # argo retry keeps the pods that succeeded
            node.started_at, node.message = kept.get("startedAt"), "kept from the run retried"
            node.finish(TaskState.SUCCEEDED)
            node.finished_at = kept.get("finishedAt")
        else:
            kept = None
            run_guarded(run, node, resolved, lambda: _dispatch(run, node, resolved, call.include_result))
    except ExecutionError as e:
        node.finish(TaskState.ERROR, str(e))
    except Exception as e:  # noqa: BLE001 - a fault of ours: its node errors and the run goes on to its end
        node.finish(TaskState.ERROR, _fault(run, node, e))
    if node.type == POD and run.record is not None:
        try:
            run.record.pod_finished(run.tree, node, resolved, kept=kept is not None)
        except Exception as e:  # noqa: BLE001 - the record is written after the node ended: a fault, never a hang
            _fault(run, node, e)
    if node.phase is TaskState.SUCCEEDED:
        _global_outputs(run, node, template)
    run.reconciler.changed()  # its phase and any global outputs it set: the other nodes' hooks look again
    return node


def _processed(run: RunContext, call: _Invocation) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``ProcessArgs``: the template's inputs bound to the call's arguments, and the template substituted with them
    (and an attempt's variables); an ``ExecutionError`` says why not."""
    params, arts = bind_inputs(call.template, call.arguments, call.artifacts)
    params = configmap_inputs(run, params)
    return params, substitute_template(call.template, params, arts, {**run.globals, **call.attempt}, run.version)


def _errored_before_its_node(run: RunContext, call: _Invocation, message: str) -> Node:
    """``initializeNodeOrMarkError``: what fails before a node exists (its arguments, its template) makes a Skipped
    node in Error: no pod, never seen Pending or Running by its hooks, not counted by a DAG's ``failFast``."""
    node = run.tree.create(call.name, call.display, SKIPPED, call.template.get("name") or "", call.parent)
    node.finish(TaskState.ERROR, message)
    run.reconciler.changed()
    return node


def _fault(run: RunContext, node: Node, error: Exception) -> str:
    """An exception no controller rule raises is the executor's fault, not the manifest's: its traceback goes to
    ``executor-faults.log`` in the run folder and the node's message names it, so the run ends (Error) instead of
    its waiting parents hanging on a worker thread that died."""
    import traceback

    text = "".join(traceback.format_exception(error))
    with run.lock, open(run.folder / FAULTS_FILE, "a", encoding="utf-8") as log:
        log.write(f"--- node {node.name}\n{text}")
    return f"flowyard executor fault ({type(error).__name__}: {error}); traceback in {FAULTS_FILE}"


def _dispatch(run: RunContext, node: Node, template: dict[str, Any], include_result: bool) -> None:
    from flowyard_argo.executor.dag import run_dag
    from flowyard_argo.executor.steps import run_steps

    if template.get("steps") is not None:
        run_steps(run, node, template)
    elif template.get("dag") is not None:
        run_dag(run, node, template)
    elif template.get("suspend") is not None:
        _suspend(run, node, template["suspend"])
    elif template.get("data") is not None:
        from flowyard_argo.executor.artifacts.data import run_data

        run_data(run, node, template)
    else:
        run_leaf(run, node, template, include_result)


def _suspend(run: RunContext, node: Node, suspend: Mapping[str, Any]) -> None:
    """Wait the ``duration``; a suspend still waiting at the workflow's deadline fails
    (``failSuspendedAndPendingNodesAfterDeadlineOrShutdown``)."""
    from flowyard_argo.executor.retry import parse_duration

    duration = suspend.get("duration")
    if duration is None:
        raise ExecutionError("a suspend template without a duration waits for `argo resume`, which cannot happen here")
    until = time.time() + parse_duration(duration)
    if run.deadline is not None and run.deadline < until:
        time.sleep(max(0.0, run.deadline - time.time()))
        node.finish(TaskState.FAILED, DEADLINE_EXCEEDED)
        return
    time.sleep(max(0.0, until - time.time()))
    node.finish(TaskState.SUCCEEDED)


def _with_retries(run: RunContext, call: _Invocation) -> Node:
    """``processNodeRetries``: attempts ``name(0)``, ``name(1)``... under a Retry node, the last one deciding."""
    strategy = call.template["retryStrategy"]
    retry_node = run.tree.create(call.name, call.display, RETRY, call.template.get("name") or "", call.parent)
    retry_node.phase = TaskState.RUNNING
    if call.observe is not None:
        call.observe(retry_node)  # the hooks belong to the Retry node, not to its attempts
    first_start = time.time()
    attempt, child = 0, None
    while True:
        attempt_call = replace(
            call,
            name=f"{call.name}({attempt})",
            display=f"{call.display}({attempt})",
            parent=retry_node,
            observe=None,
            attempt=attempt_variables(attempt, child),
        )
        child = _once(run, attempt_call)
        if child.type == SKIPPED:  # its substitution failed: executeDAGTask errors the Retry node, no attempt follows
            return retry_node.finish(TaskState.ERROR, child.message)
        if call.boundary is not None:
            call.boundary.ended(child)  # getUnsuccessfulChildren: an attempt's boundary is the task's DAG
            if call.boundary.stopped():
                return retry_node  # the DAG fails fast before processNodeRetries looks again: left Running
        ended_by_deadline = past_deadline(run) or child.message == DEADLINE_EXCEEDED  # (killed at it: past it)
        if child.phase is not TaskState.SUCCEEDED and run.deadline is not None and ended_by_deadline:
            # processNodeRetries: past the workflow's deadline no attempt follows, whatever the limit says
            return retry_node.finish(child.phase, f"retry exceeded workflow deadline {go_time(run.deadline)}")
        if child.phase is TaskState.SUCCEEDED or not should_retry(strategy, child.phase, attempt):
            break
        try:
            stops = expression_stops(strategy, attempt + 1, child, run.version)
        except ExecutionError as e:
            return retry_node.finish(TaskState.ERROR, str(e))
        if stops:
            retry_node.outputs, retry_node.inputs = child.outputs, child.inputs
            return retry_node.finish(child.phase, "retryStrategy.expression evaluated to false")
        delay, give_up = retry_delay(strategy, attempt, first_start, run.version)
        if give_up:
            child.message = child.message or "Max duration limit exceeded"
            break
        time.sleep(delay)
        attempt += 1
    retry_node.outputs = child.outputs
    retry_node.inputs = child.inputs
    return retry_node.finish(child.phase, child.message)


def attempt_variables(attempt: int, last: Node | None) -> dict[str, str]:
    """``executeTemplate``'s local parameters of a retry's attempt: ``retries`` (0-based) and the last attempt's
    ``lastRetry.exitCode`` (``0`` before one), ``.status``, ``.duration`` (whole seconds, as the controller reads
    the stored status back) and ``.message``."""
    if last is None:
        return {"retries": "0", "lastRetry.exitCode": "0", "lastRetry.status": "", "lastRetry.duration": "0"} | {
            "lastRetry.message": ""
        }
    started, ended = int(last.started_at or time.time()), int(last.finished_at or time.time())
    return {
        "retries": str(attempt),
        "lastRetry.exitCode": str(last.outputs.get("exitCode") or "0"),
        "lastRetry.status": last.phase.value,
        "lastRetry.duration": str(ended - started),
        "lastRetry.message": last.message or "",
    }


def go_time(epoch: float) -> str:
    """A UTC time as Go's ``time.Time.String()`` prints a whole second: ``2006-01-02 15:04:05 +0000 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(epoch))


def _global_outputs(run: RunContext, node: Node, template: Mapping[str, Any]) -> None:
    """``addOutputsToGlobalScope``: outputs with a ``globalName`` become ``workflow.outputs...``."""
    declared = {p["name"]: p for p in (template.get("outputs") or {}).get("parameters") or []}
    for param in node.outputs.get("parameters") or []:
        global_name = declared.get(param["name"], {}).get("globalName")
        if global_name:
            run.set_global(f"workflow.outputs.parameters.{global_name}", param.get("value"))
    declared_arts = {a["name"]: a for a in (template.get("outputs") or {}).get("artifacts") or []}
    for art in node.outputs.get("artifacts") or []:
        global_name = declared_arts.get(art["name"], {}).get("globalName")
        if global_name:
            with run.lock:
                run.global_artifacts[f"workflow.outputs.artifacts.{global_name}"] = art


def references_result(parent: Mapping[str, Any], name: str) -> bool:
    """``hasOutputResultRef``: the parent steps/dag template mentions ``steps.NAME.outputs.result`` (or tasks)."""
    prefix = "tasks" if parent.get("dag") is not None else "steps"
    text = gojson.marshal(dict(parent))
    escaped = re.escape(name)
    return bool(re.search(rf"{prefix}\.{escaped}\.outputs\.result", text)) or bool(
        re.search(rf"{prefix}\[['\"]{escaped}['\"]\]\.outputs.result", text)
    )


def template_outputs(
    template: Mapping[str, Any],
    values: Mapping[str, str | None],
    artifacts: Mapping[str, Any],
    *,
    legacy: bool = False,
) -> dict[str, Any]:
    """``getTemplateOutputsFromScope``: a steps/dag template's outputs from its children's values (``parameter``
    or ``expression``, the ``default`` when that fails) and artifacts (``from`` or ``fromExpression``)."""
    outputs: dict[str, Any] = {}
    declared = template.get("outputs") or {}
    inputs = (template.get("inputs") or {}).get("parameters") or []  # createScope: the template's inputs
    values = {
        **{f"inputs.parameters.{p['name']}": str(p["value"]) for p in inputs if p.get("value") is not None},
        **values,
    }
    params = []
    for param in declared.get("parameters") or []:
        source = param.get("valueFrom") or {}
        if source.get("parameter") is None and not source.get("expression"):
            continue
        try:
            value = _output_parameter(source, values, legacy)
        except (TemplateError, ExprError) as e:
            if source.get("default") is None:
                raise ExecutionError(f"Unable to resolve outputs from scope: {e}") from None
            value = str(source["default"])
        params.append({"name": param["name"], "value": value})
    if params:
        outputs["parameters"] = params
    arts = [
        a for a in (_output_artifact(art, artifacts, values, legacy) for art in declared.get("artifacts") or []) if a
    ]
    if arts:
        outputs["artifacts"] = arts
    return outputs


def _output_parameter(source: Mapping[str, Any], values: Mapping[str, str | None], legacy: bool) -> Any:
    if source.get("expression"):
        return parameter_value(str(source["expression"]), values, legacy=legacy)
    text = str(source["parameter"])
    replaced = replace_json('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', values, allow_unresolved=False)
    return gojson.decode(replaced)


def _output_artifact(
    art: Mapping[str, Any], artifacts: Mapping[str, Any], values: Mapping[str, str | None], legacy: bool
) -> dict[str, Any] | None:
    if art.get("fromExpression"):
        try:
            found = artifact_value(str(art["fromExpression"]), values, artifacts, legacy=legacy)
        except ExprError as e:
            raise ExecutionError(f"unable to resolve outputs from scope: {e}") from None
        return {**found, "name": art["name"]}
    source = str(art.get("from") or "").strip()
    key = source[2:-2].strip() if source.startswith("{{") and source.endswith("}}") else None
    if key and key in artifacts:
        return {**artifacts[key], "name": art["name"]}
    if key and not art.get("optional"):
        raise ExecutionError(f"Unable to resolve outputs from scope: failed to resolve {source}")
    return None
