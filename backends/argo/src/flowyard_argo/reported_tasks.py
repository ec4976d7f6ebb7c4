"""Which of an Argo run's nodes are tasks of the run's report, and what a failed check makes of its producer: one rule
each for both reports of a run, the executor's record (``executor/record.py``, ``flowyard run --backend argo``) and
a server's workflow status (``service.task_nodes``, ``submit --watch`` and ``status``), so that both say what the
local run says of the same pipeline.

A node that never got a pod (type ``Skipped``) is its step's task, as a local run lists a step whose ``when`` was
false (Skipped) or whose upstream failed (Omitted), except where the local run lists nothing: a loop over no items,
which Argo records as a Skipped node "Skipped, empty params" (``workflow/controller/dag.go`` ``executeDAGTask``,
``steps.go`` ``expandStepGroup``, v3.6.19 to v4.1.2), and the on-exit alternative not chosen
(:mod:`flowyard_argo.on_exit`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from flowyard_argo.executor.nodes import EMPTY_LOOP, SKIPPED
from flowyard_argo.on_exit import EXIT_HANDLER

SKIPPED_NODE = SKIPPED  # the node type of a task that never got a pod (NodeTypeSkipped)
_FAILED = ("Failed", "Error")


def exit_alternatives(wf: Mapping[str, Any]) -> frozenset[str]:
    """The templates flowyard's on-exit handler chooses between by run status (:mod:`flowyard_argo.on_exit`)."""
    spec = wf.get("spec") or {}
    if spec.get("onExit") != EXIT_HANDLER:
        return frozenset()
    handler: Mapping[str, Any] = next((t for t in spec.get("templates") or [] if t.get("name") == EXIT_HANDLER), {})
    return frozenset(s.get("template", "") for group in handler.get("steps") or [] for s in group)


def passed_over(phase: str, message: str, template: str, exit_templates: Collection[str]) -> bool:
    """Whether a Skipped node of a pipeline step (``phase`` Skipped, Omitted or Error) is a task of the report: not
    for a loop over no items (locally an empty fan-out has no task), nor for the on-exit alternative not taken."""
    if phase == "Skipped" and message == EMPTY_LOOP:
        return False
    return template not in exit_templates


def step_of(task: str, template: str, step_names: Mapping[str, str]) -> str | None:
    """The pipeline step a node of the run is, by its name in the spec (``step_names``: task name -> step name): by
    its task name (the step's DNS name), else by its template (the on-exit step's alternative ``NAME-failed`` runs
    its template, :mod:`flowyard_argo.on_exit`); ``None`` for flowyard's own tasks (items, checks)."""
    return step_names.get(task) or step_names.get(template)


def failed_checks(
    tasks: Iterable[tuple[str, int | None, str, str]], step_names: Mapping[str, str]
) -> dict[tuple[str, int | None], tuple[str, str]]:
    """(step, item) -> (phase, message) of each flowyard task that failed for a step, out of ``tasks`` as (task
    name, item, phase, message): a check task (``<step>-values``, :mod:`flowyard_argo.scalar_checks`), whose
    producer's value did not pass (its own pod succeeded), and an item helper (``<step>-items``,
    :mod:`flowyard_argo.helper`), which found no list to fan out over. The step is the failed one, with the task's
    message, as a local run reports it. ``step_names``: task name -> step name, as :func:`step_of` reads it; a task
    that is itself a step is never one of these."""
    from flowyard_argo.names import items_task  # the compiler's names: loaded when a report is made
    from flowyard_argo.scalar_checks import checked_producer

    steps = {*step_names, *step_names.values()}
    found = {}
    for task, item, phase, message in tasks:
        if task in steps or phase not in _FAILED:
            continue
        helped = task.removesuffix(items_task("")) if task.endswith(items_task("")) else None
        producer = checked_producer(task) or helped
        if producer is not None and producer in step_names:
            found[(step_names[producer], item)] = (phase, message)
    return found


def item_of(display_item: int | None, inputs: Mapping[str, Any] | None) -> int | None:
    """A pod's item: the loop index its display name holds (``task(i:item)``), else its ``flowyard-index`` input: a
    retried step's attempts run in a DAG of their own, whose node holds the index (:mod:`flowyard_argo.retry_boundary`).
    """
    if display_item is not None:
        return display_item
    from flowyard_argo.names import P_INDEX  # the compiler's names: loaded when a report is made

    for param in (inputs or {}).get("parameters") or []:
        if param.get("name") == P_INDEX and str(param.get("value") or "").isdigit():
            return int(param["value"])
    return None


NOT_STARTED = "not run: an earlier task failed"  # the local run's words for a step a failure kept from starting


def never_started(step_names: Mapping[str, str], nodes: Iterable[tuple[str, str]], workflow_phase: str) -> list[str]:
    """The pipeline's steps that no node stands for once the workflow ended Failed or Error, in spec order: a failure
    kept them from starting (a DAG whose template fails fast creates no node for what it does not start,
    ``operator.go`` ``checkParallelism``; a part of a split pipeline is not called), where a local run lists each
    Omitted. ``nodes``: every node of the run as (task name, template), an empty loop's or a skipped one's too."""
    if workflow_phase not in _FAILED:
        return []
    with_nodes = {step_of(task, template, step_names) for task, template in nodes}
    return [step for step in dict.fromkeys(step_names.values()) if step not in with_nodes]
