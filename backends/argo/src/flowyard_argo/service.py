"""Talking to an Argo Server: create, watch, status, logs, and provenance of a submitted workflow.

Every call goes through :class:`flowyard.remote.RemoteClient` (timeouts, bounded retries and bodies,
redirects refused, the token redacted); what the server answers is checked against the few fields
flowyard reads before anything reads them. Logs are read with our own stream parser: Argo streams one
``{"result": {...}}`` JSON object per line. Every failure becomes one line and exit code 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from flowyard.connection import Connection, EngineSettings
from flowyard.errors import InfrastructureError
from flowyard.remote import RemoteClient, Timestamp, poll_until
from flowyard.requests import Remote
from flowyard.runs import RunStatus, TaskState, TaskStatus, epoch_seconds
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowyard_argo.reported_tasks import (
    NOT_STARTED,
    SKIPPED_NODE,
    exit_alternatives,
    failed_checks,
    item_of,
    never_started,
    passed_over,
    step_of,
)

DEFAULT_NAMESPACE = "argo"
DONE = {"Succeeded", "Failed", "Error"}
_ITEM = re.compile(r"\((\d+):")


ARGO = EngineSettings(
    backend="argo",
    engine="Argo Server",
    server_env=["ARGO_SERVER"],
    namespace_env=["ARGO_NAMESPACE"],
    token_env=["ARGO_TOKEN"],
    insecure_env=["ARGO_INSECURE_SKIP_VERIFY"],
)


def connect(remote: Remote, default_namespace: str | None = None) -> Connection:
    """Flag, then ``ARGO_SERVER``/``ARGO_NAMESPACE``/``ARGO_TOKEN``, then the config file."""
    # the argo CLI's ARGO_SERVER is host:port, TLS unless told otherwise: server_url reads it the same way
    return Connection.resolve(remote, ARGO, default_namespace or DEFAULT_NAMESPACE)


# --- what the Argo Server answers: only the fields flowyard reads, checked --------------------------


class _Answer(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow")


class _Outputs(_Answer):
    exitCode: Annotated[str, Field(pattern=r"^-?\d*$")] | int | None = None


class _Node(_Answer):
    id: str = ""
    displayName: str = ""
    type: str = ""
    templateName: str = ""
    phase: str | None = None
    startedAt: Timestamp = None
    finishedAt: Timestamp = None
    message: str = ""
    outputs: _Outputs | None = None


class _Status(_Answer):
    phase: str | None = None
    startedAt: Timestamp = None
    finishedAt: Timestamp = None
    message: str = ""
    nodes: dict[str, _Node] | None = None


class _Metadata(_Answer):
    name: str = Field(min_length=1)


class _LogEntry(_Answer):
    podName: str = ""
    content: str = ""


class _LogError(_Answer):
    message: str = ""


class _LogLine(_Answer):
    result: _LogEntry | None = None
    error: _LogError | None = None


class _Workflow(_Answer):
    metadata: _Metadata
    status: _Status | None = None


def _workflow(client: RemoteClient, data: Any, what: str) -> dict[str, Any]:
    """A workflow the server answered, its shape checked (the raw mapping is what the rest reads)."""
    client.parse(_Workflow, data, what)
    return dict(data)


# --- create and watch ------------------------------------------------------------------------------


def create(conn: Connection, workflow: Mapping[str, Any]) -> dict[str, Any]:
    """POST the workflow (the manifest as a dict); returns what the server created (with its generated name)."""
    from hera.workflows import models as m

    request = m.WorkflowCreateRequest.model_validate({"workflow": dict(workflow)})
    body = request.model_dump(by_alias=True, exclude_none=True, mode="json")
    client = conn.client()
    what = f"submitting the workflow to namespace {conn.namespace}"
    created = client.request_json("POST", f"/api/v1/workflows/{quote(conn.namespace)}", what=what, body=body)
    return _workflow(client, created, what)


def get(conn: Connection, name: str) -> dict[str, Any]:
    client = conn.client()
    what = f"reading workflow {name!r} in namespace {conn.namespace}"
    path = f"/api/v1/workflows/{quote(conn.namespace)}/{quote(name)}"
    return _workflow(client, client.request_json("GET", path, what=what), what)


def watch(conn: Connection, name: str, poll_seconds: float, timeout_seconds: float | None = None) -> dict[str, Any]:
    """Poll until the workflow ends (or ``timeout_seconds`` pass), waiting out transient failures;
    returns its last state."""
    return poll_until(
        lambda: get(conn, name),
        lambda wf: (wf.get("status") or {}).get("phase") in DONE,
        poll_seconds,
        timeout_seconds,
    )


# --- the core's terms ------------------------------------------------------------------------------


def _state(phase: str | None) -> TaskState:
    try:
        return TaskState(phase or "Pending")
    except ValueError:
        return TaskState.ERROR


def task_nodes(wf: Mapping[str, Any], step_names: Mapping[str, str]) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(step, item, node) for every pod node of a workflow's status and each Skipped node that is a task of the
    report (:func:`flowyard_argo.reported_tasks.passed_over`), steps by their spec name; a producer whose check
    failed carries the check's phase and message (:func:`flowyard_argo.reported_tasks.failed_checks`).

    A fan-out child's display name is ``task(i:item)``; the helper and wrapper nodes are ours, not
    the user's, and are left out."""
    exit_templates = exit_alternatives(wf)
    found: list[tuple[str, int | None, dict[str, Any]]] = []  # (task name, item, node)
    for node in ((wf.get("status") or {}).get("nodes") or {}).values():
        kind, phase, template = node.get("type"), node.get("phase") or "", node.get("templateName", "")
        if kind != "Pod" and not (
            kind == SKIPPED_NODE and passed_over(phase, node.get("message", ""), template, exit_templates)
        ):
            continue
        display = node.get("displayName", "")
        match = _ITEM.search(display)
        found.append(
            (display.split("(", 1)[0], item_of(int(match.group(1)) if match else None, node.get("inputs")), node)
        )
    checks = failed_checks(((t, i, n.get("phase") or "", n.get("message", "")) for t, i, n in found), step_names)
    rows = []
    for task, item, node in found:
        step = step_of(task, node.get("templateName", ""), step_names)
        if step is None:
            continue
        check = checks.get((step, item))
        rows.append((step, item, node if check is None else {**node, "phase": check[0], "message": check[1]}))
    rows.sort(key=lambda r: (r[0], -1 if r[1] is None else r[1]))
    return rows


def run_status(wf: Mapping[str, Any], pipeline: str, step_names: Mapping[str, str], location: str) -> RunStatus:
    status = wf.get("status") or {}
    tasks = []
    for step, item, node in task_nodes(wf, step_names):
        outputs = node.get("outputs") or {}
        code = outputs.get("exitCode")
        tasks.append(
            TaskStatus(
                step=step,
                item=item,
                state=_state(node.get("phase")),
                started_at=epoch_seconds(node.get("startedAt")),
                finished_at=epoch_seconds(node.get("finishedAt")),
                attempts=1,
                exit_code=int(code) if code not in (None, "") else None,
                message=node.get("message", ""),
            )
        )
    nodes = [
        (n.get("displayName", "").split("(", 1)[0], n.get("templateName", ""))
        for n in (status.get("nodes") or {}).values()
    ]
    missing = never_started(step_names, nodes, status.get("phase") or "")
    tasks += [TaskStatus(step=s, item=None, state=TaskState.OMITTED, message=NOT_STARTED) for s in missing]
    return RunStatus(
        run_id=wf["metadata"]["name"],
        pipeline=pipeline,
        backend="argo",
        state=_state(status.get("phase")),
        started_at=epoch_seconds(status.get("startedAt")),
        finished_at=epoch_seconds(status.get("finishedAt")),
        tasks=tuple(tasks),
        message=status.get("message", ""),
        location=location,
    )


def workflow_link(conn: Connection, name: str) -> str:
    return f"{conn.server}/workflows/{conn.namespace}/{name}"


# --- logs ----------------------------------------------------------------------------------------


def parse_log_stream(lines: Iterator[bytes | str]) -> Iterator[dict[str, Any]]:
    """Argo's streamed log answer: one JSON object per line, ``{"result": {"podName", "content"}}``
    (or ``{"error": {...}}`` mid-stream). Blank keep-alive lines are skipped."""
    for raw in lines:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            line = _LogLine.model_validate_json(text)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "the line"
            raise InfrastructureError(
                f"the Argo Server sent a log line that is not what Argo sends ({where}: {err['msg']}): {text[:80]!r}"
            ) from None
        if line.error is not None:
            raise InfrastructureError(f"the Argo Server stopped the log stream: {line.error.message or text[:80]}")
        yield line.result.model_dump() if line.result is not None else {}


def stream_logs(conn: Connection, name: str, follow: bool = False) -> Iterator[dict[str, Any]]:
    path = f"/api/v1/workflows/{quote(conn.namespace)}/{quote(name)}/log"
    query = {"logOptions.container": "main", "logOptions.follow": "true" if follow else "false"}
    lines = conn.client().stream_lines(path, what=f"reading the logs of {name!r}", query=query)
    yield from parse_log_stream(lines)


def pod_matches(pod: str, workflow: str, node: Mapping[str, Any]) -> bool:
    """Argo names pods by node id (POD_NAMES=v1) or ``<workflow>-<template>-<hash>`` (v2, the default)."""
    node_id = str(node.get("id", ""))
    suffix = node_id.rsplit("-", 1)[-1]
    return pod in (node_id, f"{workflow}-{node.get('templateName', '')}-{suffix}")
