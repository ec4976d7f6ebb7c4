"""Talking to an Argo Server: create, watch, status, logs, and provenance of a submitted workflow.

Uses hera's ``WorkflowsService`` (generated from Argo's OpenAPI spec) for create and get. Logs are
read with our own stream parser: Argo streams one ``{"result": {...}}`` JSON object per line, and
hera 7.1's ``workflow_logs`` reads the whole body as a single JSON document and breaks on it.
Every failure to reach or be let in by the server becomes one line and exit code 3.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flowyard.config import authorization, flag_setting, resolve_setting, server_url
from flowyard.errors import InfrastructureError
from flowyard.runs import RunStatus, SubmitRequest, TaskState, TaskStatus, epoch_seconds

DEFAULT_NAMESPACE = "argo"
DONE = {"Succeeded", "Failed", "Error"}
_ITEM = re.compile(r"\((\d+):")


@dataclass(frozen=True)
class Connection:
    server: str
    namespace: str
    token: str | None
    insecure: bool

    @classmethod
    def resolve(cls, request: SubmitRequest, default_namespace: str | None = None) -> Connection:
        """Flag, then ``ARGO_SERVER``/``ARGO_NAMESPACE``/``ARGO_TOKEN``, then the config file."""
        # the argo CLI's ARGO_SERVER is host:port, TLS unless told otherwise: server_url reads it the same way
        return cls(
            server=server_url("argo", "Argo Server", request.server, ["ARGO_SERVER"]),
            namespace=resolve_setting("argo", "namespace", request.namespace, ["ARGO_NAMESPACE"])
            or default_namespace
            or DEFAULT_NAMESPACE,
            token=resolve_setting("argo", "token", request.token, ["ARGO_TOKEN"]),
            insecure=flag_setting("argo", "insecure", request.insecure, ["ARGO_INSECURE_SKIP_VERIFY"]),
        )

    @property
    def authorization(self) -> str | None:
        return authorization(self.token)

    def service(self) -> Any:
        from hera.workflows import WorkflowsService

        return WorkflowsService(
            host=self.server, verify_ssl=not self.insecure, token=self.token, namespace=self.namespace
        )


def _one_line(conn: Connection, e: BaseException, what: str) -> InfrastructureError:
    """Turn a transport or HTTP failure into the one line a user sees."""
    import requests
    from hera import exceptions as hx

    where = f"Argo Server {conn.server} (namespace {conn.namespace})"
    if isinstance(e, requests.exceptions.SSLError):
        return InfrastructureError(f"{what}: TLS failed with {conn.server}: check the URL scheme, or use --insecure")
    if isinstance(e, requests.exceptions.ConnectionError):
        return InfrastructureError(f"{what}: cannot connect to {conn.server}: is the Argo Server running there?")
    if isinstance(e, requests.exceptions.Timeout):
        return InfrastructureError(f"{what}: {conn.server} did not answer in time")
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if isinstance(e, hx.Unauthorized):
        return InfrastructureError(f"{what}: {where} refused the token (401): {message}")
    if isinstance(e, hx.Forbidden):
        return InfrastructureError(f"{what}: {where} forbids it (403): {message}")
    if isinstance(e, hx.NotFound):
        return InfrastructureError(f"{what}: not found on {where} (404): {message}")
    if isinstance(e, hx.AlreadyExists):
        return InfrastructureError(f"{what}: the name is taken on {where} (409): {message}")
    if isinstance(e, hx.BadRequest):
        return InfrastructureError(f"{what}: {where} rejected the request (400): {message}")
    return InfrastructureError(f"{what}: {where} answered: {message}")


def _call(conn: Connection, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    import warnings

    import requests
    from hera import exceptions as hx
    from pydantic.warnings import PydanticDeprecatedSince20

    try:
        with warnings.catch_warnings():
            # hera 7.1's generated service serialises with pydantic's v1-style .json(): its warning, not ours
            warnings.simplefilter("ignore", PydanticDeprecatedSince20)
            return fn(*args, **kwargs)
    except (requests.exceptions.RequestException, hx.HeraException) as e:
        raise _one_line(conn, e, what) from None


# --- create and watch ------------------------------------------------------------------------------


def create(conn: Connection, workflow: Any) -> dict[str, Any]:
    """POST the workflow; returns what the server created (with its generated name)."""
    from hera.workflows import models as m

    service = conn.service()
    model = workflow.build()
    created = _call(
        conn,
        "submitting the workflow",
        service.create_workflow,
        m.WorkflowCreateRequest(workflow=model),
        namespace=conn.namespace,
    )
    return dict(created.model_dump(by_alias=True, exclude_none=True, mode="json"))


def get(conn: Connection, name: str) -> dict[str, Any]:
    wf = _call(conn, f"reading workflow {name!r}", conn.service().get_workflow, name, namespace=conn.namespace)
    return dict(wf.model_dump(by_alias=True, exclude_none=True, mode="json"))


def watch(conn: Connection, name: str, poll_seconds: float, timeout_seconds: float | None = None) -> dict[str, Any]:
    """Poll until the workflow ends (or ``timeout_seconds`` pass); returns its last state."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while True:
        wf = get(conn, name)
        if (wf.get("status") or {}).get("phase") in DONE:
            return wf
        if deadline is not None and time.monotonic() > deadline:
            return wf
        time.sleep(poll_seconds)


# --- the core's terms ------------------------------------------------------------------------------


def _state(phase: str | None) -> TaskState:
    try:
        return TaskState(phase or "Pending")
    except ValueError:
        return TaskState.ERROR


def task_nodes(wf: Mapping[str, Any], step_names: Mapping[str, str]) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(step, item, node) for every pod node of a workflow's status, steps by their spec name.

    A fan-out child's display name is ``task(i:item)``; the helper and wrapper nodes are ours, not
    the user's, and are left out."""
    rows = []
    for node in ((wf.get("status") or {}).get("nodes") or {}).values():
        if node.get("type") not in ("Pod", "Skipped"):
            continue
        display = node.get("displayName", "")
        base = display.split("(", 1)[0]
        step = step_names.get(base) or step_names.get(node.get("templateName", ""))  # onExit: by template
        if step is None:
            continue
        match = _ITEM.search(display)
        rows.append((step, int(match.group(1)) if match else None, node))
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
            obj = json.loads(text)
        except ValueError:
            raise InfrastructureError(f"the Argo Server sent a log line that is not JSON: {text[:80]!r}") from None
        if "error" in obj:
            raise InfrastructureError(f"the Argo Server stopped the log stream: {obj['error'].get('message', obj)}")
        yield obj.get("result") or {}


def stream_logs(conn: Connection, name: str, follow: bool = False) -> Iterator[dict[str, Any]]:
    import requests
    from hera.exceptions import HeraException

    url = f"{conn.server}/api/v1/workflows/{conn.namespace}/{name}/log"
    params = {"logOptions.container": "main", "logOptions.follow": "true" if follow else "false"}
    headers = {"Authorization": conn.authorization} if conn.authorization else {}
    try:
        with requests.get(url, params=params, headers=headers, stream=True, verify=not conn.insecure, timeout=30) as r:
            if not r.ok:
                from hera.exceptions import exception_from_server_response

                raise exception_from_server_response(r)
            yield from parse_log_stream(r.iter_lines())
    except (requests.exceptions.RequestException, HeraException) as e:
        raise _one_line(conn, e, f"reading the logs of {name!r}") from None


def pod_matches(pod: str, workflow: str, node: Mapping[str, Any]) -> bool:
    """Argo names pods by node id (POD_NAMES=v1) or ``<workflow>-<template>-<hash>`` (v2, the default)."""
    node_id = str(node.get("id", ""))
    suffix = node_id.rsplit("-", 1)[-1]
    return pod in (node_id, f"{workflow}-{node.get('templateName', '')}-{suffix}")
