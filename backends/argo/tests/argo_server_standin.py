"""A small Argo Server stand-in on 127.0.0.1, for testing submission without a cluster.

Every request is matched against Argo's OpenAPI spec (v4.1.2, ``data/``): an unknown route is a
404, a body that breaks the operation's schema (made strict, as in ``argo_schema``) a 400 with
Argo's error shape. Created workflows move Pending -> Running -> Succeeded (or Failed, for a
workflow labelled ``standin.flowyard.dev/fail: "true"``), one phase per status read, with a node
per DAG task; logs stream as Argo's do, one ``{"result": {...}}`` JSON object per line. The
``token``, ``forbidden`` and ``namespaces`` settings give 401, 403 and 404 answers; creating a
workflow whose ``metadata.name`` is taken gives 409.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from jsonschema import Draft4Validator

from .argo_schema import SWAGGER_FILE

PHASES = ("Pending", "Running")
FAIL_LABEL = "standin.flowyard.dev/fail"


@functools.cache
def _swagger() -> dict[str, Any]:
    spec = json.loads(SWAGGER_FILE.read_text())
    defs = spec["definitions"]
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] = ["string", "integer"]
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] = ["string", "number"]
    for d in defs.values():
        if "properties" in d and "additionalProperties" not in d:
            d["additionalProperties"] = False
    return spec


def _group(m: re.Match[str]) -> str:
    """A path parameter as a named group (parameter names may hold dots; group names may not)."""
    name = re.sub(r"\W", "_", m[1])
    return f"(?P<{name}>[^/]+)"


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    routes = []
    for path, ops in _swagger()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{([^}]+)\}", _group, path) + "$")
        for method, op in ops.items():
            routes.append((pattern, method.upper(), op))
    return routes


def _match(method: str, path: str) -> tuple[dict[str, str], dict[str, Any]] | None:
    """The path parameters and the operation of Argo's API that serve ``method path``."""
    for pattern, m, op in _routes():
        match = pattern.match(path)
        if match and m == method:
            return match.groupdict(), op
    return None


def body_errors(schema_ref: dict[str, Any], body: Any) -> list[str]:
    validator = Draft4Validator({**schema_ref, "definitions": _swagger()["definitions"]})
    return [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(body)]


@dataclass
class StandinState:
    token: str | None = None
    namespaces: set[str] = field(default_factory=lambda: {"argo"})
    forbidden: set[str] = field(default_factory=set)
    workflows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _nodes(wf: dict[str, Any], phase: str) -> dict[str, Any]:
    spec = wf["spec"]
    templates = {t["name"]: t for t in spec.get("templates", [])}
    entry = templates.get(spec.get("entrypoint", ""), {})
    name = wf["metadata"]["name"]
    nodes = {
        name: {
            "id": name,
            "name": name,
            "displayName": name,
            "type": "DAG",
            "phase": phase,
            "templateName": entry.get("name", ""),
            "startedAt": wf["status"]["startedAt"],
        }
    }
    for task in (entry.get("dag") or {}).get("tasks", []):
        node_id = f"{name}-{abs(hash(task['name'])) % 10**10}"
        nodes[node_id] = {
            "id": node_id,
            "name": f"{name}.{task['name']}",
            "displayName": task["name"],
            "type": "Pod",
            "templateName": task.get("template", ""),
            "phase": phase,
            "startedAt": wf["status"]["startedAt"],
            "inputs": copy.deepcopy(task.get("arguments", {})),
        }
        if phase in ("Succeeded", "Failed"):
            nodes[node_id]["finishedAt"] = _now()
            nodes[node_id]["outputs"] = {"exitCode": "1" if phase == "Failed" else "0"}
    return nodes


class _Handler(BaseHTTPRequestHandler):
    state: StandinState

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, grpc: int, message: str) -> None:
        self._send(code, {"code": grpc, "message": message})

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                return self._error(400, 3, "body is not JSON")
        with self.state.lock:
            self.state.requests.append((method, url.path, body))
        found = _match(method, url.path)
        if found is None:
            return self._error(404, 5, f"no route {method} {url.path} in Argo's API")
        params, op = found
        if self.state.token is not None:
            auth = self.headers.get("Authorization", "")
            if auth != f"Bearer {self.state.token}":
                return self._error(401, 16, "token not valid")
        ns = params.get("namespace")
        if ns is not None and ns in self.state.forbidden:
            return self._error(403, 7, f'workflows.argoproj.io is forbidden: cannot access namespace "{ns}"')
        if ns is not None and ns not in self.state.namespaces:
            return self._error(404, 5, f'namespaces "{ns}" not found')
        for p in op.get("parameters", []):
            if p.get("in") == "body":
                errors = body_errors(p["schema"], body)
                if errors:
                    return self._error(400, 3, "request does not match Argo's API: " + "; ".join(errors[:5]))
        handler = getattr(self, "op_" + re.sub(r"\W", "_", op.get("operationId", "")), None)
        if handler is None:
            return self._error(501, 12, f"the stand-in does not implement {op.get('operationId')}")
        handler(params, parse_qs(url.query), body)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    # --- operations --------------------------------------------------------------------------

    def op_InfoService_GetVersion(self, params: dict[str, str], query: Any, body: Any) -> None:
        self._send(
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
        self._send(200, body["workflow"])

    def op_WorkflowService_CreateWorkflow(self, params: dict[str, str], query: Any, body: Any) -> None:
        wf = copy.deepcopy(body["workflow"])
        meta = wf.setdefault("metadata", {})
        ns = params["namespace"]
        name = meta.get("name") or meta.get("generateName", "workflow-") + secrets.token_hex(3)[:5]
        with self.state.lock:
            if (ns, name) in self.state.workflows:
                return self._error(409, 6, f'workflows.argoproj.io "{name}" already exists')
            meta.update(
                name=name, namespace=ns, uid=secrets.token_hex(16), creationTimestamp=_now(), resourceVersion="1"
            )
            meta.pop("generateName", None)
            wf["status"] = {"phase": "Pending", "startedAt": _now(), "progress": "0/1"}
            self.state.workflows[(ns, name)] = wf
        self._send(200, wf)

    def op_WorkflowService_GetWorkflow(self, params: dict[str, str], query: Any, body: Any) -> None:
        key = (params["namespace"], params["name"])
        with self.state.lock:
            wf = self.state.workflows.get(key)
            if wf is None:
                return self._error(404, 5, f'workflows.argoproj.io "{params["name"]}" not found')
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
        self._send(200, snapshot)

    def op_WorkflowService_WorkflowLogs(self, params: dict[str, str], query: Any, body: Any) -> None:
        key = (params["namespace"], params["name"])
        with self.state.lock:
            wf = copy.deepcopy(self.state.workflows.get(key))
        if wf is None:
            return self._error(404, 5, f'workflows.argoproj.io "{params["name"]}" not found')
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for node in _nodes(wf, wf["status"]["phase"]).values():
            if node["type"] != "Pod":
                continue
            for i in range(2):
                line = json.dumps({"result": {"podName": node["id"], "content": f"{node['displayName']} line {i}"}})
                chunk = (line + "\n").encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@contextmanager
def argo_server(**settings: Any) -> Iterator[tuple[str, StandinState]]:
    """``with argo_server(token="abc") as (url, state): ...``: a running stand-in and its state."""
    state = StandinState(**settings)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
