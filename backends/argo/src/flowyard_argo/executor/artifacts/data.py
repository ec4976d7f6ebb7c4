"""``data`` templates: ``argoexec data`` (``workflow/executor/data.go``, ``workflow/data/data.go``) run here.

The source is ``artifactPaths``: the keys under the artifact's location (``ProcessArtifactPaths``, the driver's
``ListObjects``); each ``transformation`` step's ``expression`` is evaluated with that value as ``data``
(``processExpression``: expr with the environment ``{data}``); the result, JSON-encoded as Go's ``json.Marshal``
writes it, is the node's ``outputs.result`` (``executeData`` creates a Pod node with ``includeScriptOutput``).
A failure ends the node Failed, as the pod's ``argoexec`` exiting non-zero does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor import gojson
from flowyard_argo.executor.artifacts.podio import key_values, store_of
from flowyard_argo.executor.artifacts.transfer import ArtifactError
from flowyard_argo.executor.context import RunContext
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.expr.evaluate import evaluate
from flowyard_argo.executor.expr.parser import parse
from flowyard_argo.executor.nodes import Node


class DataError(RuntimeError):
    """``ProcessData`` failed; the message is upstream's chain of reasons."""


def process(run: RunContext, node: Node, data: Mapping[str, Any], own: Any = None) -> Any:
    """``ProcessData``: the source's value, then each transformation in turn."""
    paths = (data.get("source") or {}).get("artifactPaths")
    if paths is None:
        raise DataError("unable to process data source: no valid source is used for data template")
    try:
        value: Any = store_of(run).list(paths, key_values(run, node), own)
    except (ArtifactError, OSError) as e:
        raise DataError(f"unable to process data source: unable to source artifact paths: {e}") from None
    for index, step in enumerate(data.get("transformation") or []):
        if not step.get("expression"):
            continue
        try:
            value = evaluate(parse(str(step["expression"])), {"data": value})
        except ExprError as e:
            raise DataError(f"unable to process data transformation: error processing data step {index}: {e}") from None
    return value


def run_data(run: RunContext, node: Node, template: Mapping[str, Any]) -> None:
    """Run the ``data`` template on ``node`` (within the workflow's pod parallelism): its result, its phase."""
    if run.pod_slots is not None:
        run.pod_slots.acquire()
    try:
        value = process(run, node, template["data"], template.get("archiveLocation"))
    except DataError as e:
        node.outputs = {"exitCode": "1"}
        node.finish(TaskState.FAILED, f"unable to process data template: {e}")
        return
    finally:
        if run.pod_slots is not None:
            run.pod_slots.release()
    node.outputs = {"result": gojson.marshal(value), "exitCode": "0"}
    node.finish(TaskState.SUCCEEDED)
