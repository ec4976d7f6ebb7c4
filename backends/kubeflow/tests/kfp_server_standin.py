"""A small KFP API server stand-in on 127.0.0.1, for testing submission without a cluster.

Every request is matched against Kubeflow Pipelines' API spec (v2beta1, 2.17.0, read in place from
the workspace's ``../shared/schemas/kubeflow-pipelines/``; a test that needs it skips where absent) and its
body validated against the operation's schema, made strict; a run's ``pipeline_spec`` (typed only
as ``object`` there) is parsed strictly into the IR proto, as the server does. Runs move PENDING ->
RUNNING -> SUCCEEDED (or FAILED when ``fail=True``), one state per read, with a task detail per
root DAG task. ``token`` gives 401 answers to a request without that bearer token.
"""

from __future__ import annotations

import copy
import functools
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flowyard.testing.standin import OpenAPISpec, StandinHandler, serve

SWAGGER_FILE = (
    Path(__file__).resolve().parents[3].parent / "shared/schemas/kubeflow-pipelines/kfp_api_single_file.swagger.json"
)
NEXT = {"PENDING": "RUNNING"}


@functools.cache
def kfp_api() -> OpenAPISpec:
    if not SWAGGER_FILE.is_file():
        pytest.skip(f"{SWAGGER_FILE} is absent (the KFP API spec, read in place)")
    return OpenAPISpec(SWAGGER_FILE)


@dataclass
class KfpState:
    token: str | None = None
    fail: bool = False
    reject: str | None = None  # refuse every run with this message (400), as the server does a bad one
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    answers: list[tuple[dict[str, Any], Any]] = field(default_factory=list)  # (operation, body) sent
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def pipeline_spec_errors(spec: Any) -> list[str]:
    """What the API server would say of a run's pipeline_spec: it must parse as a PipelineSpec."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    if not isinstance(spec, dict):
        return ["pipeline_spec is not an object"]
    try:
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    except json_format.ParseError as e:
        return [str(e)]
    return []


class _Handler(StandinHandler):
    state: KfpState

    def error_body(self, code: int, message: str) -> Any:
        return {**super().error_body(code, message), "details": []}  # googleRpcStatus

    def answer(self, operation: str, payload: Any) -> None:
        with self.state.lock:
            self.state.answers.append(({"operationId": operation}, payload))
        self.send_json(200, payload)

    # --- operations --------------------------------------------------------------------------------

    def op_HealthzService_GetHealthz(self, params: Any, query: Any, body: Any) -> None:
        self.answer("HealthzService_GetHealthz", {"multi_user": False})

    def op_ExperimentService_ListExperiments(self, params: Any, query: Any, body: Any) -> None:
        with self.state.lock:
            found = list(self.state.experiments.values())
        wanted = query.get("filter", [""])[0]
        if wanted:
            found = [e for e in found if f'"{e["display_name"]}"' in wanted]
        self.answer("ExperimentService_ListExperiments", {"experiments": found, "total_size": len(found)})

    def op_ExperimentService_CreateExperiment(self, params: Any, query: Any, body: Any) -> None:
        exp = {
            **body,
            "experiment_id": secrets.token_hex(8),
            "created_at": _now(),
            "storage_state": "AVAILABLE",
        }
        with self.state.lock:
            self.state.experiments[exp["experiment_id"]] = exp
        self.answer("ExperimentService_CreateExperiment", exp)

    def op_RunService_CreateRun(self, params: Any, query: Any, body: Any) -> None:
        problems = pipeline_spec_errors(body.get("pipeline_spec"))
        if self.state.reject is not None:
            problems = [self.state.reject]
        if problems:
            return self.send_error_json(400, "Invalid input error: pipeline spec is invalid: " + problems[0])
        run = {
            **copy.deepcopy(body),
            "run_id": secrets.token_hex(8),
            "created_at": _now(),
            "scheduled_at": _now(),
            "storage_state": "AVAILABLE",
            "state": "PENDING",
        }
        with self.state.lock:
            self.state.runs[run["run_id"]] = run
        self.answer("RunService_CreateRun", run)

    def op_RunService_GetRun(self, params: Any, query: Any, body: Any) -> None:
        with self.state.lock:
            run = self.state.runs.get(params["run_id"])
            if run is None:
                return self.send_error_json(404, f"Run {params['run_id']} not found")
            if run["state"] in ("PENDING", "RUNNING"):
                run["state"] = NEXT.get(run["state"], "FAILED" if self.state.fail else "SUCCEEDED")
                if run["state"] in ("SUCCEEDED", "FAILED"):
                    run["finished_at"] = _now()
            run["run_details"] = {"task_details": self.task_details(run)}
            snapshot = copy.deepcopy(run)
        self.answer("RunService_GetRun", snapshot)

    def task_details(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """A detail per task of every DAG, groups (loops, sub-pipelines) included, as KFP reports them."""
        spec = run.get("pipeline_spec") or {}
        dags = [spec.get("root", {}), *list(spec.get("components", {}).values())]
        names = sorted({name for comp in dags for name in comp.get("dag", {}).get("tasks", {})})
        details = []
        for name in names:
            detail = {
                "run_id": run["run_id"],
                "task_id": secrets.token_hex(6),
                "display_name": name,
                "create_time": run["created_at"],
                "start_time": run["created_at"],
                "state": run["state"],
            }
            if run["state"] in ("SUCCEEDED", "FAILED"):
                detail["end_time"] = run["finished_at"]
            if run["state"] == "FAILED":
                detail["error"] = {"code": 2, "message": f"task {name} failed"}
            details.append(detail)
        return details


@contextmanager
def kfp_server(**settings: Any) -> Iterator[tuple[str, KfpState]]:
    """``with kfp_server(token="t") as (url, state): ...``: a running stand-in and its state."""
    state = KfpState(**settings)
    spec = kfp_api()  # read here, not at import: a test without the upstream file skips
    with serve(type(_Handler.__name__, (_Handler,), {"spec": spec}), state) as url:
        yield url, state
