"""Stand-in API servers on 127.0.0.1, held to an engine's own OpenAPI (Swagger 2.0) spec.

A cluster backend's remote paths cannot be tested without a cluster; this is the next best thing:
every request is matched to an operation of the engine's published spec (an unknown route is a
404), its body validated against the operation's schema (a mismatch is a 400), and each answer
the stand-in gives can be validated against the spec's response schema. A backend's tests subclass
:class:`StandinHandler`, add ``op_<operationId>`` methods and say how the engine shapes errors.
Needs jsonschema (``flowyard-core[testing]``).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse


class OpenAPISpec:
    """A Swagger 2.0 document made strict: every object definition closed, so a misspelt field in
    a request is an error (``widen`` may loosen what the engine itself accepts)."""

    def __init__(self, path: Path, widen: Callable[[dict[str, Any]], None] | None = None) -> None:
        spec = json.loads(path.read_text(encoding="utf-8"))
        defs = spec["definitions"]
        if widen is not None:
            widen(defs)
        for d in defs.values():
            if "properties" in d and "additionalProperties" not in d:
                d["additionalProperties"] = False
        self.spec = spec
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for route, ops in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{([^}]+)\}", _group, route) + "$")
            for method, op in ops.items():
                if isinstance(op, dict):
                    self.routes.append((pattern, method.upper(), op))

    def match(self, method: str, path: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        """The path parameters and the operation that serve ``method path``."""
        for pattern, m, op in self.routes:
            found = pattern.match(path)
            if found and m == method:
                return found.groupdict(), op
        return None

    def errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        """Why ``value`` breaks ``schema`` (a ``$ref`` into the definitions, or inline)."""
        from jsonschema import Draft4Validator

        validator = Draft4Validator({**schema, "definitions": self.spec["definitions"]})
        return [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(value)]

    def response_errors(self, op: dict[str, Any], code: int, body: Any) -> list[str]:
        response = op.get("responses", {}).get(str(code)) or op.get("responses", {}).get("default") or {}
        return self.errors(response["schema"], body) if "schema" in response else []


def _group(m: re.Match[str]) -> str:
    """A path parameter as a named group (parameter names may hold dots; group names may not)."""
    name = re.sub(r"\W", "_", m[1])
    return f"(?P<{name}>[^/]+)"


FAULTS = ("hang", "5xx", "html", "malformed", "wrong-shape", "huge", "redirect", "echo-token")
"""What a stand-in's ``fault`` setting makes it do to a request, instead of answering it:

- ``hang``: answer nothing until the server stops;
- ``5xx``: a 503 (``fault_times`` of them, then the normal answers: "5xx then success");
- ``html``: a 200 with an HTML page, as a proxy's login page;
- ``malformed``: a 200 with JSON cut short;
- ``wrong-shape``: a 200 with valid JSON of the wrong shape (``wrong_shape``, default a list);
- ``huge``: a 200 streaming ``huge_bytes`` of JSON-looking text, without a Content-Length;
- ``redirect``: a 307 to the same path on another loopback address (127.0.0.2);
- ``echo-token``: a 401 whose message quotes the Authorization header it was sent.
"""


@dataclass
class Faults:
    """A stand-in state's fault settings (a mixin of each stand-in's state dataclass)."""

    fault: str | None = None
    fault_after: int = 0  # requests answered normally before the faults start
    fault_times: int = 10**9
    wrong_shape: Any = field(default_factory=lambda: [1, 2, 3])
    huge_bytes: int = 300 * 2**20
    stopped: threading.Event = field(default_factory=threading.Event)


class StandinHandler(BaseHTTPRequestHandler):
    """Routes each request through the spec, then to ``op_<operationId>(params, query, body)``.

    Subclasses set ``spec`` and ``state``, may extend :meth:`check_access` (namespaces) and
    :meth:`error_body` (the engine's error shape). Every request is recorded in
    ``state.requests`` as ``(method, path, body)``."""

    spec: ClassVar[OpenAPISpec]
    state: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    # HTTP status -> gRPC code, as grpc-gateway maps them (Argo's and KFP's servers are both behind one)
    GRPC_CODES: ClassVar[dict[int, int]] = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 501: 12}

    def error_body(self, code: int, message: str) -> Any:
        """grpc-gateway's error shape; override for an engine that answers otherwise."""
        return {"code": self.GRPC_CODES.get(code, 2), "message": message}

    def check_access(self, params: dict[str, str]) -> tuple[int, str] | None:
        """``(status, message)`` to refuse the request, or ``None``. By default: when ``state.token``
        is set, a request without that bearer token is a 401."""
        token = getattr(self.state, "token", None)
        if token is not None and self.headers.get("Authorization", "") != f"Bearer {token}":
            return 401, "the request has no valid bearer token"
        return None

    def send_json(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, code: int, message: str) -> None:
        self.send_json(code, self.error_body(code, message))

    def stream_lines(self, lines: Iterator[str]) -> None:
        """A chunked answer, one line per chunk, as streaming APIs send them."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            chunk = (line + "\n").encode()
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def take_fault(self) -> str | None:
        """The fault to play on this request (counting it down), or None."""
        fault = getattr(self.state, "fault", None)
        if fault is None:
            return None
        with self.state.lock:
            if self.state.fault_after > 0:
                self.state.fault_after -= 1
                return None
            if self.state.fault_times <= 0:
                return None
            self.state.fault_times -= 1
        return str(fault)

    def play_fault(self, fault: str) -> None:
        """Answer as a broken or hostile server would (see :data:`FAULTS`)."""
        if fault == "hang":
            self.state.stopped.wait(600)
            return
        if fault == "5xx":
            return self.send_raw(503, b"upstream connect error or disconnect/reset before headers", "text/plain")
        if fault == "html":
            return self.send_raw(200, b"<!DOCTYPE html><html><body>Sign in to continue</body></html>", "text/html")
        if fault == "malformed":
            return self.send_raw(200, b'{"metadata": {"name": "x", ', "application/json")
        if fault == "wrong-shape":
            return self.send_json(200, self.state.wrong_shape)
        if fault == "redirect":
            address: Any = self.server.server_address
            port = address[1]
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.2:{port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault == "echo-token":
            sent = self.headers.get("Authorization", "")
            return self.send_error_json(401, f"token {sent!r} is not valid for this server")
        if fault == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b'{"padding": "' + b"x" * (2**20 - 20) + b'"},\n'
            with contextlib.suppress(OSError):
                for _ in range(self.state.huge_bytes // len(chunk) + 1):
                    self.wfile.write(chunk)
            self.close_connection = True
            return
        raise ValueError(f"unknown stand-in fault {fault!r} (known: {', '.join(FAULTS)})")

    def send_raw(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, method: str) -> None:
        url = urlparse(self.path)
        fault = self.take_fault()
        if fault is not None:
            return self.play_fault(fault)
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                return self.send_error_json(400, "body is not JSON")
        with self.state.lock:
            self.state.requests.append((method, url.path, body))
        found = self.spec.match(method, url.path)
        if found is None:
            return self.send_error_json(404, f"no route {method} {url.path} in the API spec")
        params, op = found
        refused = self.check_access(params)
        if refused is not None:
            return self.send_error_json(*refused)
        for p in op.get("parameters", []):
            if p.get("in") == "body":
                problems = self.spec.errors(p["schema"], body)
                if problems:
                    return self.send_error_json(400, "request does not match the API: " + "; ".join(problems[:5]))
        handler = getattr(self, "op_" + re.sub(r"\W", "_", op.get("operationId", "")), None)
        if handler is None:
            return self.send_error_json(501, f"the stand-in does not implement {op.get('operationId')}")
        handler(params, parse_qs(url.query), body)

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_DELETE(self) -> None:
        self.route("DELETE")


@contextmanager
def serve(handler: type[StandinHandler], state: Any) -> Iterator[str]:
    """Run ``handler`` (bound to ``state``) on 127.0.0.1; yields the base URL."""
    bound = type(handler.__name__, (handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stopped = getattr(state, "stopped", None)
        if stopped is not None:
            stopped.set()  # a hanging answer ends
        server.shutdown()
        server.server_close()
