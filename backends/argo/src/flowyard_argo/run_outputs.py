"""A pipeline's outputs read back from an executed compiled manifest, in core's terms (the values a local run
reports): a value output decoded from the pod's output parameter, a file output as the host path of the pod's
artifact; for a fanned-out step, a list in item order with ``None`` for an item with no succeeded pod (as the
local backend's fan-in gives a failed item under ``failure_policy: continue``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flowyard import value_matches
from flowyard.ir import PipelineIR, StepIR
from flowyard.stepimage.step import StepFunctionError, decode_value

from flowyard_argo.reported_tasks import item_of
from flowyard_argo.retry_boundary import attempts_template, retried_in_own_dag

_ITEM = re.compile(r"\((\d+):")


def pipeline_outputs(ir: PipelineIR, folder: Path) -> dict[str, Any]:
    """The outputs of the run in ``folder`` (its ``workflow.json``), by the pipeline's output names."""
    try:
        workflow = json.loads((folder / "workflow.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    nodes = list(((workflow.get("status") or {}).get("nodes") or {}).values())
    # a run that failed may have failed on the value itself (a container's check task, flowyard_argo.scalar_checks):
    # such a value is left out, as locally the step that wrote it failed; in a run that succeeded it is an error
    lenient = (workflow.get("status") or {}).get("phase") != "Succeeded"
    outputs: dict[str, Any] = {}
    retried = retried_in_own_dag(ir)
    for out in ir.outputs:
        step = ir.step(out.source.step)
        names = (step.dns_name, attempts_template(step.dns_name)) if step.name in retried else (step.dns_name,)
        values = _step_values(step, out.source.output, _succeeded_pods(nodes, names), lenient=lenient)
        if step.for_each is None:
            outputs[out.name] = values.get(None)
        elif values:
            outputs[out.name] = [values.get(i) for i in range(_item_count(nodes, names))]
        else:
            outputs[out.name] = None
    return outputs


def _of_step(node: Mapping[str, Any], templates: tuple[str, ...]) -> bool:
    """A pod of the step whose templates are ``templates`` (its own; a retried step's attempts' too,
    :mod:`flowyard_argo.retry_boundary`): by its template's name, or, for a template written inline in its task (no
    ``templateName``; :mod:`flowyard_argo.inlining`), by the task's name, the step's."""
    if node.get("type") != "Pod":
        return False
    if node.get("templateName"):
        return node.get("templateName") in templates
    return str(node.get("displayName") or "").split("(", 1)[0] == templates[0]


def _succeeded_pods(nodes: Iterable[Mapping[str, Any]], templates: tuple[str, ...]) -> list[Mapping[str, Any]]:
    return [n for n in nodes if _of_step(n, templates) and n.get("phase") == "Succeeded"]


def _item_count(nodes: Iterable[Mapping[str, Any]], templates: tuple[str, ...]) -> int:
    indexes = [_index(n) for n in nodes if _of_step(n, templates)]
    return max((i for i in indexes if i is not None), default=-1) + 1


def _index(node: Mapping[str, Any]) -> int | None:
    match = _ITEM.search(str(node.get("displayName") or ""))
    return item_of(int(match.group(1)) if match else None, node.get("inputs"))


def _step_values(
    step: StepIR, name: str, pods: list[Mapping[str, Any]], *, lenient: bool = False
) -> dict[int | None, Any]:
    """Each succeeded pod's value of output ``name``, by item index (``None`` for a step without items); a
    fanned-out Python step's value output is an envelope carrying its index (:func:`flowyard.step.encode_envelope`), a
    container step's is its file's text, its index in the pod's name."""
    declared = step.output(name)
    values: dict[int | None, Any] = {}
    for pod in pods:
        outputs = pod.get("outputs") or {}
        index = _index(pod) if step.for_each is not None else None
        if declared.type == "file":
            found = [
                a.get("_local") for a in outputs.get("artifacts") or [] if a.get("name") == name and a.get("_local")
            ]
            if found:
                values[index] = found[0]
            continue
        texts = [p.get("value") for p in outputs.get("parameters") or [] if p.get("name") == name]
        if not texts or texts[0] is None:
            continue
        if step.for_each is not None and step.kind == "python":
            envelope = json.loads(texts[0])
            values[int(envelope["index"])] = envelope["value"]
        else:
            try:
                value = decode_value(declared.type, "rendered", texts[0])
            except StepFunctionError:
                if not lenient:
                    raise
                continue
            if not lenient or value_matches(declared.type, value):
                values[index] = value
    return values
