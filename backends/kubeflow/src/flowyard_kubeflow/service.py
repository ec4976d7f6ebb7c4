"""Talking to a KFP API server (v2beta1 REST, as ``kfp.Client`` does): create a run from the package,
watch it, read it.

Every call goes through :class:`flowyard.remote.RemoteClient` (timeouts, bounded retries and bodies,
redirects refused, the token redacted) and every answer is checked against the fields flowyard reads,
so a server answering HTML or the wrong JSON is one line, not ``Name: None``. Every failure to reach
the server, be let in, or have the package accepted is one line and exit code 3.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import quote

from flowyard import connection as remote_connection
from flowyard.config import resolve_setting
from flowyard.connection import EngineSettings
from flowyard.errors import InfrastructureError
from flowyard.remote import RemoteClient, Timestamp, poll_until
from flowyard.requests import Remote
from flowyard.runs import RunStatus, TaskState, TaskStatus, epoch_seconds
from pydantic import BaseModel, ConfigDict, Field

API = "/apis/v2beta1"
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


KFP = EngineSettings(
    backend="kubeflow",
    engine="KFP API server",
    server_env=["KFP_SERVER", "KF_PIPELINES_ENDPOINT"],
    namespace_env=["KFP_NAMESPACE"],
    token_env=["KFP_TOKEN"],
    insecure_env=["KFP_INSECURE"],
)


@dataclass(frozen=True)
class Connection(remote_connection.Connection):
    """A KFP API server, and the experiment a run is filed under."""

    experiment: str = DEFAULT_EXPERIMENT

    def run_link(self, run_id: str) -> str:
        return f"{self.server}/#/runs/details/{run_id}"


def connect(remote: Remote, experiment: str | None = None) -> Connection:
    """Flag, then ``KFP_SERVER``/``KFP_NAMESPACE``/``KFP_TOKEN``/``KFP_EXPERIMENT``, then the config file."""
    conn = Connection.resolve(remote, KFP)
    return replace(
        conn, experiment=resolve_setting("kubeflow", "experiment", experiment, ["KFP_EXPERIMENT"]) or DEFAULT_EXPERIMENT
    )


# --- what the KFP API server answers (v2beta1): only the fields flowyard reads, checked -------------


class _Answer(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow")


class _Error(_Answer):
    message: str = ""


class _Task(_Answer):
    display_name: str = ""
    state: str | None = None
    start_time: Timestamp = None
    end_time: Timestamp = None
    error: _Error | None = None


class _Details(_Answer):
    task_details: list[_Task] | None = None


class KfpRun(_Answer):
    """A run as ``GET /apis/v2beta1/runs/{id}`` answers it."""

    run_id: str = Field(min_length=1)
    display_name: str = ""
    state: str | None = None
    created_at: Timestamp = None
    finished_at: Timestamp = None
    error: _Error | None = None
    run_details: _Details | None = None


class _Experiment(_Answer):
    experiment_id: str = Field(min_length=1)


class _Experiments(_Answer):
    experiments: list[_Experiment] | None = None


# --- calls ---------------------------------------------------------------------------------------


def _pipeline_spec(package: str) -> dict[str, Any]:
    """The run's ``pipeline_spec`` as kfp.Client sends it: the package's first document, checked as a
    PipelineSpec, with the platform spec beside it when there is one."""
    import yaml
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    docs = [d for d in yaml.safe_load_all(package) if d]
    platform: dict[str, Any] = {}
    for doc in docs[1:]:
        platform.update(doc)
    try:
        spec = json_format.MessageToDict(json_format.ParseDict(docs[0], pipeline_spec_pb2.PipelineSpec()))
        if not platform:
            return dict(spec)
        plat = json_format.MessageToDict(json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec()))
    except json_format.ParseError as e:
        first = str(e).strip().splitlines()[0]
        raise InfrastructureError(
            f"submitting the run: the package does not parse as a KFP pipeline spec: {first}"
        ) from None
    return {"pipeline_spec": spec, "platform_spec": plat}


def _experiment_id(conn: Connection, client: RemoteClient) -> str:
    """The id of the experiment named ``conn.experiment``, created when there is none."""
    what = f"finding experiment {conn.experiment!r}"
    wanted = {"predicates": [{"operation": 1, "key": "display_name", "stringValue": conn.experiment}]}  # EQUALS
    query = {"filter": json.dumps(wanted), **({"namespace": conn.namespace} if conn.namespace else {})}
    found = client.parse(_Experiments, client.request_json("GET", f"{API}/experiments", what=what, query=query), what)
    if found.experiments:
        return found.experiments[0].experiment_id
    what = f"creating experiment {conn.experiment!r}"
    body = {"display_name": conn.experiment, **({"namespace": conn.namespace} if conn.namespace else {})}
    created = client.request_json("POST", f"{API}/experiments", what=what, body=body)
    return client.parse(_Experiment, created, what).experiment_id


def preflight(conn: Connection, client: RemoteClient) -> None:
    """The health check first: an unreachable or refusing server is named before any work."""
    client.request_json("GET", f"{API}/healthz", what="connecting")


def create_run(conn: Connection, package: str, arguments: dict[str, Any], run_name: str) -> str:
    client = conn.client()
    spec = _pipeline_spec(package)
    preflight(conn, client)
    body = {
        "display_name": run_name,
        "experiment_id": _experiment_id(conn, client),
        "pipeline_spec": spec,
        "runtime_config": {"parameters": arguments},
    }
    what = "submitting the run"
    created = client.request_json("POST", f"{API}/runs", what=what, body=body)
    return client.parse(KfpRun, created, what).run_id


def get_run(conn: Connection, run_id: str, client: RemoteClient | None = None) -> KfpRun:
    client = client or conn.client()
    what = f"reading run {run_id!r}"
    return client.parse(KfpRun, client.request_json("GET", f"{API}/runs/{quote(run_id)}", what=what), what)


def watch(conn: Connection, run_id: str, poll_seconds: float, timeout_seconds: float | None) -> KfpRun:
    """Poll until the run ends (or ``timeout_seconds`` pass), waiting out transient failures."""
    client = conn.client()
    return poll_until(
        lambda: get_run(conn, run_id, client),
        lambda run: (run.state or "") in DONE,
        poll_seconds,
        timeout_seconds,
    )


_GROUP = re.compile(r"^(for-loop-\d+|condition-\d+|condition-branches-\d+|exit-handler-\d+|root|.+-fanout)$")


def run_status(run: KfpRun, pipeline: str, step_names: dict[str, str] | None, link: str) -> RunStatus:
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
                state=STATES.get(t.state or "", TaskState.ERROR),
                started_at=epoch_seconds(t.start_time),
                finished_at=epoch_seconds(t.end_time),
                attempts=1,
                message=str(getattr(error, "message", "") or ""),
            )
        )
    state = STATES.get(run.state or "", TaskState.ERROR)
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
