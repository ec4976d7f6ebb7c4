"""The Argo Server stand-in behaves like Argo's API: checked requests, realistic answers, errors."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from .argo_server_standin import FAIL_LABEL, argo_server, body_errors
from .test_argo_schema import SEQUENTIAL

WORKFLOW_REF = {"$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"}


def create(url: str, wf: dict, ns: str = "argo", token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{url}/api/v1/workflows/{ns}", json={"workflow": wf}, headers=headers, timeout=5)


def test_a_workflow_moves_through_its_phases_and_answers_match_the_api() -> None:
    with argo_server() as (url, state):
        created = create(url, SEQUENTIAL)
        assert created.status_code == 200
        name = created.json()["metadata"]["name"]
        assert name.startswith("activator-processor-sequential-")
        phases = []
        for _ in range(3):
            got = requests.get(f"{url}/api/v1/workflows/argo/{name}", timeout=5).json()
            assert body_errors(WORKFLOW_REF, got) == []  # what we answer is a valid Argo Workflow
            phases.append(got["status"]["phase"])
        assert phases == ["Running", "Succeeded", "Succeeded"]
        assert {n["displayName"] for n in got["status"]["nodes"].values() if n["type"] == "Pod"} == {
            "activator",
            "processor",
        }
        assert state.requests[0][:2] == ("POST", "/api/v1/workflows/argo")


def test_a_failing_workflow_ends_failed() -> None:
    wf = copy.deepcopy(SEQUENTIAL)
    wf["metadata"]["labels"] = {FAIL_LABEL: "true"}
    with argo_server() as (url, _):
        name = create(url, wf).json()["metadata"]["name"]
        for _ in range(2):
            got = requests.get(f"{url}/api/v1/workflows/argo/{name}", timeout=5).json()
        assert got["status"]["phase"] == "Failed"


def test_logs_stream_one_json_object_per_line() -> None:
    with argo_server() as (url, _):
        name = create(url, SEQUENTIAL).json()["metadata"]["name"]
        text = requests.get(f"{url}/api/v1/workflows/argo/{name}/log?logOptions.container=main", timeout=5).text
        lines = [json.loads(x) for x in text.splitlines() if x]
        with pytest.raises(ValueError, match="Extra data"):
            json.loads(text)  # the whole body is not one JSON document (hera 7.1 assumes it is)
    assert len(lines) == 4
    assert all(set(x["result"]) == {"podName", "content"} for x in lines)


def test_requests_that_break_the_api_are_refused() -> None:
    bad = copy.deepcopy(SEQUENTIAL)
    bad["spec"]["parallelism"] = "two"
    with argo_server() as (url, _):
        resp = create(url, bad)
        assert resp.status_code == 400
        assert "'two' is not of type 'integer'" in resp.json()["message"]
        typo = copy.deepcopy(SEQUENTIAL)
        typo["spec"]["templates"][0]["dag"]["tasks"][1]["withParm"] = "x"
        assert create(url, typo).status_code == 400
        assert requests.get(f"{url}/api/v1/nowhere", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("settings", "ns", "token", "status"),
    [
        ({"token": "secret"}, "argo", None, 401),
        ({"token": "secret"}, "argo", "wrong", 401),
        ({"token": "secret"}, "argo", "secret", 200),
        ({"forbidden": {"argo"}}, "argo", None, 403),
        ({}, "elsewhere", None, 404),
    ],
)
def test_auth_and_namespace_errors(settings, ns, token, status) -> None:
    with argo_server(**settings) as (url, _):
        assert create(url, SEQUENTIAL, ns=ns, token=token).status_code == status


def test_a_taken_name_is_409() -> None:
    wf = copy.deepcopy(SEQUENTIAL)
    wf["metadata"] = {"name": "fixed-name"}
    with argo_server() as (url, _):
        assert create(url, wf).status_code == 200
        second = create(url, wf)
        assert second.status_code == 409
        assert "already exists" in second.json()["message"]
