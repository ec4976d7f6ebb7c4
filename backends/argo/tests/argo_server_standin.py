"""A small Argo Server stand-in on 127.0.0.1, for testing submission without a cluster.

Every request is matched against Argo's OpenAPI spec (v4.1.2, read in place from ``../shared``): an unknown route is a
404, a body that breaks the operation's schema (made strict, as in ``argo_schema``) a 400 with
Argo's error shape. Created workflows move Pending -> Running -> Succeeded (or Failed, for a
workflow labelled ``standin.flowyard.dev/fail: "true"``), one phase per status read, with a node
per DAG task; logs stream as Argo's do, one ``{"result": {...}}`` JSON object per line. The
``token``, ``forbidden`` and ``namespaces`` settings give 401, 403 and 404 answers; creating a
workflow whose ``metadata.name`` is taken gives 409. ``fault`` plays a broken server (hang, 5xx, HTML,
malformed JSON, wrong shape, huge body, redirect, echoed token: ``flowyard.testing.standin.FAULTS``).
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flowyard.testing.standin import Faults, OpenAPISpec, StandinHandler, serve

from .argo_schema import SWAGGER_FILE, upstream

PHASES = ("Pending", "Running")
FAIL_LABEL = "standin.flowyard.dev/fail"


def _widen(defs: dict[str, Any]) -> None:
    """Integers where the controller accepts them (as ``argo_schema`` does)."""
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] = ["string", "integer"]
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] = ["string", "number"]


@functools.cache
def argo_api() -> OpenAPISpec:
    return OpenAPISpec(upstream(SWAGGER_FILE), _widen)


def body_errors(schema_ref: dict[str, Any], body: Any) -> list[str]:
    return argo_api().errors(schema_ref, body)


@dataclass
class StandinState(Faults):
    token: str | None = None
    namespaces: set[str] = field(default_factory=lambda: {"argo"})
    forbidden: set[str] = field(default_factory=set)
    workflows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _literal_param_items(entry: dict[str, Any], task: dict[str, Any], looped: dict[str, Any]) -> Any:
    """The items a ``withParam`` task loops over when its helper task was given a literal JSON list."""
    ref = looped.get("withParam", "")
    if ref.startswith("{{inputs.parameters."):
        name = ref[len("{{inputs.parameters.") : -2]
        ref = next((a["value"] for a in task.get("arguments", {}).get("parameters", []) if a["name"] == name), "")
    if not ref.startswith("{{tasks."):
        return None
    helper = next((t for t in entry["dag"]["tasks"] if t["name"] == ref[len("{{tasks.") :].split(".")[0]), {})
    data = next((a["value"] for a in helper.get("arguments", {}).get("parameters", []) if a["name"] == "data"), "")
    if helper.get("template") != "flowyard-items":  # the list from a file or a run-time value
        return None
    return None if data.startswith("{{") else json.loads(data or "null")


def _nodes(wf: dict[str, Any], phase: str) -> dict[str, Any]:
    """Nodes as the controller reports them: the entry DAG, a Pod per task, and for a task looping
    over ``withItems`` (directly or inside a wrapper DAG) a TaskGroup with one ``task(i:item)`` Pod
    per item. A ``withParam`` list from the item helper is expanded when the helper's data is a literal
    list (a literal ``for_each``); otherwise it exists only at run time and its task stays one node."""
    spec = wf["spec"]
    templates = {t["name"]: t for t in spec.get("templates", [])}
    entry = templates.get(spec.get("entrypoint", ""), {})
    name = wf["metadata"]["name"]
    started = wf["status"]["startedAt"]
    nodes: dict[str, Any] = {}

    def add(display: str, type_: str, template: str, arguments: Any = None) -> None:
        node_id = f"{name}-{abs(hash(display)) % 10**10}"
        node = {
            "id": node_id,
            "name": f"{name}.{display}",
            "displayName": display,
            "type": type_,
            "templateName": template,
            "phase": phase,
            "startedAt": started,
        }
        if arguments is not None:
            node["inputs"] = copy.deepcopy(arguments)
        if phase in ("Succeeded", "Failed"):
            node["finishedAt"] = _now()
            if type_ == "Pod":
                node["outputs"] = {"exitCode": "1" if phase == "Failed" else "0"}
        nodes[node_id] = node

    add(name, "DAG", entry.get("name", ""))
    for task in (entry.get("dag") or {}).get("tasks", []):
        looped, target = task, templates.get(task.get("template", ""), {})
        if "dag" in target and len(target["dag"].get("tasks", [])) == 1:  # a parallelism wrapper
            add(task["name"], "DAG", target["name"])
            looped = target["dag"]["tasks"][0]
        items = looped.get("withItems", _literal_param_items(entry, task, looped))
        if items is None:
            add(task["name"], "Pod", looped.get("template", ""), task.get("arguments", {}))
            continue
        add(task["name"] if looped is task else f"{task['name']}-group", "TaskGroup", looped.get("template", ""))
        for i, item in enumerate(items):
            add(f"{looped['name']}({i}:{json.dumps(item, separators=(',', ':'))})", "Pod", looped["template"])
    return nodes


class _Handler(StandinHandler):
    state: StandinState

    def check_access(self, params: dict[str, str]) -> tuple[int, str] | None:
        refused = super().check_access(params)
        if refused is not None:
            return refused
        ns = params.get("namespace")
        if ns is not None and ns in self.state.forbidden:
            return 403, f'workflows.argoproj.io is forbidden: cannot access namespace "{ns}"'
        if ns is not None and ns not in self.state.namespaces:
            return 404, f'namespaces "{ns}" not found'
        return None

    # --- operations --------------------------------------------------------------------------

    def op_InfoService_GetVersion(self, params: dict[str, str], query: Any, body: Any) -> None:
        self.send_json(
            200,
            {
                "version": "v4.1.2",
                "buildDate": "2026-08-21T00:00:00Z",
                "gitCommit": "16a52d67",
                "gitTag": "v4.1.2",
                "gitTreeState": "clean",
                "goVersion": "go1.24",
                "compiler": "gc",
                "platform": "linux/amd64",
            },
        )

    def op_WorkflowService_LintWorkflow(self, params: dict[str, str], query: Any, body: Any) -> None:
        self.send_json(200, body["workflow"])

    def op_WorkflowService_CreateWorkflow(self, params: dict[str, str], query: Any, body: Any) -> None:
        wf = copy.deepcopy(body["workflow"])
        meta = wf.setdefault("metadata", {})
        ns = params["namespace"]
        name = meta.get("name") or meta.get("generateName", "workflow-") + secrets.token_hex(3)[:5]
        with self.state.lock:
            if (ns, name) in self.state.workflows:
                return self.send_error_json(409, f'workflows.argoproj.io "{name}" already exists')
            meta.update(
                name=name, namespace=ns, uid=secrets.token_hex(16), creationTimestamp=_now(), resourceVersion="1"
            )
            meta.pop("generateName", None)
            wf["status"] = {"phase": "Pending", "startedAt": _now(), "progress": "0/1"}
            self.state.workflows[(ns, name)] = wf
        self.send_json(200, wf)

    def op_WorkflowService_GetWorkflow(self, params: dict[str, str], query: Any, body: Any) -> None:
        key = (params["namespace"], params["name"])
        with self.state.lock:
            wf = self.state.workflows.get(key)
            if wf is None:
                return self.send_error_json(404, f'workflows.argoproj.io "{params["name"]}" not found')
            phase = wf["status"]["phase"]
            if phase in PHASES:  # one phase further at each read
                fail = wf["metadata"].get("labels", {}).get(FAIL_LABEL) == "true"
                phase = "Running" if phase == "Pending" else ("Failed" if fail else "Succeeded")
                wf["status"]["phase"] = phase
                if phase in ("Succeeded", "Failed"):
                    wf["status"]["finishedAt"] = _now()
                    wf["status"]["progress"] = "1/1"
                    if phase == "Failed":
                        wf["status"]["message"] = "child failed"
            wf["status"]["nodes"] = _nodes(wf, phase)
            snapshot = copy.deepcopy(wf)
        self.send_json(200, snapshot)

    def op_WorkflowService_WorkflowLogs(self, params: dict[str, str], query: Any, body: Any) -> None:
        key = (params["namespace"], params["name"])
        with self.state.lock:
            wf = copy.deepcopy(self.state.workflows.get(key))
        if wf is None:
            return self.send_error_json(404, f'workflows.argoproj.io "{params["name"]}" not found')
        lines = (
            json.dumps({"result": {"podName": node["id"], "content": f"{node['displayName']} line {i}"}})
            for node in _nodes(wf, wf["status"]["phase"]).values()
            if node["type"] == "Pod"
            for i in range(2)
        )
        self.stream_lines(lines)


@contextmanager
def argo_server(**settings: Any) -> Iterator[tuple[str, StandinState]]:
    """``with argo_server(token="abc") as (url, state): ...``: a running stand-in and its state."""
    state = StandinState(**settings)
    spec = argo_api()  # read here, not at import: a test without the upstream file skips
    with serve(type(_Handler.__name__, (_Handler,), {"spec": spec}), state) as url:
        yield url, state
