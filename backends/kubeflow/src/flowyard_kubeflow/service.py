"""Talking to a KFP API server through ``kfp.Client``: create a run from the package, watch it, read it.

``kfp.Client()`` calls the server's health check when it is created, so a client is built only when
a command needs the server. Every failure to reach it, be let in, or have the package accepted is
one line and exit code 3.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard.config import authorization, flag_setting, resolve_setting, server_url
from flowyard.errors import InfrastructureError
from flowyard.runs import RunStatus, SubmitRequest, TaskState, TaskStatus, epoch_seconds

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "flowyard"
DONE = {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}
STATES = {
    "PENDING": TaskState.PENDING,
    "RUNNING": TaskState.RUNNING,
    "PAUSED": TaskState.RUNNING,
    "CANCELING": TaskState.RUNNING,
    "SUCCEEDED": TaskState.SUCCEEDED,
    "SKIPPED": TaskState.SKIPPED,
    "FAILED": TaskState.FAILED,
    "CANCELED": TaskState.FAILED,
}


@dataclass(frozen=True)
class Connection:
    server: str
    namespace: str | None
    token: str | None
    insecure: bool
    experiment: str

    @classmethod
    def resolve(cls, request: SubmitRequest) -> Connection:
        """Flag, then ``KFP_SERVER``/``KFP_NAMESPACE``/``KFP_TOKEN``/``KFP_EXPERIMENT``, then the config file."""
        return cls(
            server=server_url("kubeflow", "KFP API server", request.server, ["KFP_SERVER", "KF_PIPELINES_ENDPOINT"]),
            namespace=resolve_setting("kubeflow", "namespace", request.namespace, ["KFP_NAMESPACE"]),
            token=resolve_setting("kubeflow", "token", request.token, ["KFP_TOKEN"]),
            insecure=flag_setting("kubeflow", "insecure", request.insecure, ["KFP_INSECURE"]),
            experiment=resolve_setting("kubeflow", "experiment", request.experiment, ["KFP_EXPERIMENT"])
            or DEFAULT_EXPERIMENT,
        )

    def run_link(self, run_id: str) -> str:
        return f"{self.server}/#/runs/details/{run_id}"


def _one_line(conn: Connection, e: BaseException, what: str) -> InfrastructureError:
    import urllib3

    text = str(e).strip()
    if isinstance(e, urllib3.exceptions.MaxRetryError):
        e = e.reason or e  # type: ignore[assignment]
    if isinstance(e, urllib3.exceptions.SSLError) or "SSL" in type(e).__name__ or "CERTIFICATE" in text:
        return InfrastructureError(f"{what}: TLS failed with {conn.server}: check the URL scheme, or use --insecure")
    if isinstance(e, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProtocolError, ConnectionError)):
        return InfrastructureError(f"{what}: cannot connect to {conn.server}: is the KFP API server running there?")
    status = getattr(e, "status", None)
    if status is not None:
        body = getattr(e, "body", "") or ""
        message = _server_message(body) or getattr(e, "reason", "") or ""
        kinds = {401: "refused the credentials", 403: "forbids it", 404: "has no such thing", 400: "rejected it"}
        verdict = kinds.get(status, "answered")
        return InfrastructureError(f"{what}: KFP API server {conn.server} {verdict} ({status}): {message}")
    first = text.splitlines()[0] if text else type(e).__name__
    return InfrastructureError(f"{what}: {first}")


def _server_message(body: Any) -> str:
    import json

    try:
        return str(json.loads(body).get("message", "")).splitlines()[0]
    except (ValueError, AttributeError, IndexError):
        return str(body).strip().splitlines()[0] if str(body).strip() else ""


@contextlib.contextmanager
def _quietly(conn: Connection, what: str) -> Iterator[None]:
    """kfp.Client prints links and warns that it needs a v2 server; failures become one line."""
    from google.protobuf import json_format

    log.debug("%s: %s", what, conn.server)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            yield
    except json_format.ParseError as e:
        first = str(e).strip().splitlines()[0]
        raise InfrastructureError(f"{what}: the package does not parse as a KFP pipeline spec: {first}") from None
    except InfrastructureError:
        raise
    except Exception as e:  # urllib3 and kfp_server_api errors alike: one line
        if type(e).__module__.split(".")[0] not in ("urllib3", "kfp_server_api", "builtins", "kfp"):
            raise
        raise _one_line(conn, e, what) from None


def preflight(conn: Connection) -> None:
    """One health-check request of our own first: kfp.Client retries a refused one five times,
    five seconds apart, then says only that it failed."""
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{conn.server}/apis/v2beta1/healthz")  # noqa: S310 - the user's server URL
    header = authorization(conn.token)
    if header:
        request.add_header("Authorization", header)
    context = ssl._create_unverified_context() if conn.insecure else None  # noqa: S323 - the user's --insecure
    try:
        with urllib.request.urlopen(request, timeout=30, context=context):  # noqa: S310 - the user's server URL
            return
    except urllib.error.HTTPError as e:
        message = _server_message(e.read()) or e.reason
        verdict = {401: "refused the credentials", 403: "forbids it"}.get(e.code, "answered")
        raise InfrastructureError(f"connecting: KFP API server {conn.server} {verdict} ({e.code}): {message}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, ssl.SSLError):
            raise InfrastructureError(
                f"connecting: TLS failed with {conn.server}: check the URL scheme, or use --insecure"
            ) from None
        raise InfrastructureError(
            f"connecting: cannot connect to {conn.server}: is the KFP API server running there? ({e.reason})"
        ) from None
    except OSError as e:
        raise InfrastructureError(f"connecting: cannot connect to {conn.server}: {e}") from None


def client(conn: Connection) -> Any:
    import kfp

    preflight(conn)
    with _quietly(conn, "connecting"):
        return kfp.Client(
            host=conn.server,
            existing_token=conn.token,
            namespace=conn.namespace or "kubeflow",
            verify_ssl=not conn.insecure,
        )


def create_run(conn: Connection, package: str, arguments: dict[str, Any], run_name: str) -> str:
    c = client(conn)
    with tempfile.TemporaryDirectory(prefix="flowyard-kfp-") as tmp:
        path = Path(tmp) / "pipeline.yaml"
        path.write_text(package, encoding="utf-8")
        with _quietly(conn, "submitting the run"):
            result = c.create_run_from_pipeline_package(
                str(path),
                arguments=arguments,
                run_name=run_name,
                experiment_name=conn.experiment,
                namespace=conn.namespace,
            )
    return str(result.run_id)


def get_run(conn: Connection, run_id: str, c: Any = None) -> Any:
    c = c or client(conn)
    with _quietly(conn, f"reading run {run_id!r}"):
        return c.get_run(run_id)


def watch(conn: Connection, run_id: str, poll_seconds: float, timeout_seconds: float | None) -> Any:
    c = client(conn)
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while True:
        run = get_run(conn, run_id, c)
        if str(run.state) in DONE or (deadline is not None and time.monotonic() > deadline):
            return run
        time.sleep(poll_seconds)


_GROUP = re.compile(r"^(for-loop-\d+|condition-\d+|condition-branches-\d+|exit-handler-\d+|root|.+-fanout)$")


def run_status(run: Any, pipeline: str, step_names: dict[str, str] | None, link: str) -> RunStatus:
    """A KFP run in the core's terms; KFP's groups (loops, conditions, the exit handler, flowyard's
    sub-pipelines) are left out. Without the IR at hand, steps keep their task names."""
    tasks = []
    for t in (run.run_details.task_details if run.run_details else None) or []:
        name = str(t.display_name)
        step = name if step_names is None and not _GROUP.match(name) else (step_names or {}).get(name)
        if step is None:
            continue
        error = getattr(t, "error", None)
        tasks.append(
            TaskStatus(
                step=step,
                state=STATES.get(str(t.state), TaskState.ERROR),
                started_at=epoch_seconds(t.start_time),
                finished_at=epoch_seconds(t.end_time),
                attempts=1,
                message=str(getattr(error, "message", "") or ""),
            )
        )
    state = STATES.get(str(run.state), TaskState.ERROR)
    error = getattr(run, "error", None)
    return RunStatus(
        run_id=str(run.run_id),
        pipeline=pipeline,
        backend="kubeflow",
        state=state,
        started_at=epoch_seconds(run.created_at),
        finished_at=epoch_seconds(run.finished_at),
        tasks=tuple(sorted(tasks, key=lambda t: t.step)),
        message=str(getattr(error, "message", "") or ""),
        location=link,
    )
