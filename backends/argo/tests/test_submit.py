"""Submitting, watching, status and logs, against the Argo Server stand-in (checked against Argo's
OpenAPI spec). Every expected failure is one line on stderr and exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard._json_output import command_schema
from flowyard.provenance import PROVENANCE_FILE

from .argo_server_standin import FAIL_LABEL, argo_server, body_errors

ROOT = Path(__file__).resolve().parents[3]
SEQUENTIAL = str(ROOT / "examples" / "activator_processor" / "sequential.yaml")
FANOUT = str(ROOT / "examples" / "activator_processor" / "fanout.yaml")
FAST = ["-O", "poll_seconds=0.01"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE", "ARGO_INSECURE_SKIP_VERIFY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLOWYARD_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("FLOWYARD_HOME", str(tmp_path / "home"))


def flowyard(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_submit_creates_the_workflow_with_the_given_parameters() -> None:
    with argo_server(token="abc") as (url, state):
        r = flowyard(
            "submit", SEQUENTIAL, "-b", "argo", "--server", url, "--token", "abc", "-p", 'message={"msg": "hi"}'
        )
        assert r.exit_code == 0, r.output
        (created,) = [b for m, p, b in state.requests if m == "POST" and p == "/api/v1/workflows/argo"]
        wf = created["workflow"]
        assert wf["metadata"]["generateName"] == "activator-processor-sequential-"
        assert wf["spec"]["arguments"]["parameters"] == [{"name": "message", "value": '{"msg":"hi"}'}]
        ((_, name),) = state.workflows
        assert name in r.output and f"{url}/workflows/argo/{name}" in r.output
        assert "flowyard status" in r.output


def test_submit_watch_follows_to_the_end_and_records_provenance(tmp_path) -> None:
    with argo_server() as (url, state):
        r = flowyard("submit", SEQUENTIAL, "-b", "argo", "--server", url, "--watch", *FAST)
        assert r.exit_code == 0, r.output
        ((_, name),) = state.workflows
        assert "Succeeded" in r.output and "activator" in r.output and "processor" in r.output
        gets = [p for m, p, _ in state.requests if m == "GET"]
        assert gets.count(f"/api/v1/workflows/argo/{name}") >= 2  # polled through Pending/Running
    run = tmp_path / "home" / "runs" / name
    status = json.loads((run / "run.json").read_text())
    assert status["state"] == "Succeeded" and status["backend"] == "argo"
    record = json.loads((run / "tasks" / "processor" / PROVENANCE_FILE).read_text())
    assert record["image"] == "nasa-hsi" and record["exit_code"] == 0 and record["backend"] == "argo"
    assert record["command"] == ["processor"]
    assert record["started_at"] is not None
    # the local commands read it like a local run
    r = flowyard("provenance", str(run / "tasks" / "processor"))
    assert r.exit_code == 0, r.output
    assert "processor" in r.output and "activator" in r.output  # the chain follows the input's source


def test_submit_json_follows_the_shipped_schema_with_and_without_watch() -> None:
    from jsonschema import Draft202012Validator

    schema = Draft202012Validator(command_schema("submit"))
    with argo_server() as (url, _):
        for watch in ([], ["--watch", *FAST]):
            r = flowyard("submit", SEQUENTIAL, "-b", "argo", "--server", url, "--json", *watch)
            assert r.exit_code == 0, r.output
            data = json.loads(r.stdout)
            schema.validate(data)
            assert data["backend"] == "argo" and data["run_id"]
            assert (data["status"] == "Succeeded") == bool(watch), data["status"]


def test_a_failed_workflow_exits_1_and_prints_the_failed_steps_logs() -> None:
    with argo_server() as (url, _):
        r = flowyard(
            "submit",
            SEQUENTIAL,
            "-b",
            "argo",
            "--server",
            url,
            "--watch",
            *FAST,
            "-O",
            f'labels={{"{FAIL_LABEL}": "true"}}',
        )
        assert r.exit_code == 1, r.output
        assert "Failed" in r.output
        assert "activator line 0" in r.output  # the failed steps' logs follow the tree


def test_status_and_logs_of_a_submitted_workflow_by_name() -> None:
    with argo_server() as (url, state):
        r = flowyard("submit", FANOUT, "-b", "argo", "--server", url, "--watch", *FAST)
        ((_, name),) = state.workflows
        r = flowyard("status", name, "-b", "argo", "--server", url)
        assert r.exit_code == 0, r.output
        assert "Succeeded" in r.output and "processor" in r.output
        assert "activator-items" not in r.output  # flowyard's own helper is not a user step
        r = flowyard("status", name, "-b", "argo", "--server", url, "--json")
        assert json.loads(r.output)["status"] == "Succeeded"
        r = flowyard("logs", name, "-b", "argo", "--server", url)
        assert r.exit_code == 0
        assert "processor: processor line 0" in r.output.splitlines()
        r = flowyard("logs", name, "processor", "-b", "argo", "--server", url)
        assert r.output.splitlines() == ["processor: processor line 0", "processor: processor line 1"]


def test_connection_settings_fall_back_to_env_then_config(monkeypatch, tmp_path) -> None:
    with argo_server(token="t0k", namespaces={"pipelines"}) as (url, state):
        monkeypatch.setenv("ARGO_SERVER", url)
        monkeypatch.setenv("ARGO_TOKEN", "t0k")
        cfg = tmp_path / "config.yaml"
        cfg.write_text("argo:\n  namespace: pipelines\n")
        monkeypatch.setenv("FLOWYARD_CONFIG", str(cfg))
        r = flowyard("submit", SEQUENTIAL, "-b", "argo")
        assert r.exit_code == 0, r.output
        assert [ns for ns, _ in state.workflows] == ["pipelines"]


@pytest.mark.parametrize(
    ("settings", "args", "expected"),
    [
        ({"token": "right"}, ["--token", "wrong"], "refused the credentials (401)"),
        ({"forbidden": {"argo"}}, [], "forbids it (403)"),
        ({}, ["--namespace", "nowhere"], "has no such thing (404)"),
    ],
)
def test_server_refusals_are_one_line_and_exit_3(settings, args, expected) -> None:
    with argo_server(**settings) as (url, _):
        r = CliRunner().invoke(cli, ["submit", SEQUENTIAL, "-b", "argo", "--server", url, *args])
    assert r.exit_code == 3, r.output
    assert expected in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_a_name_already_taken_is_409_one_line(tmp_path) -> None:
    spec = tmp_path / "named.yaml"
    spec.write_text(Path(SEQUENTIAL).read_text())
    with argo_server() as (url, state):
        state.workflows[("argo", "taken")] = {"metadata": {"name": "taken"}, "status": {"phase": "Succeeded"}}
        from flowyard._loading import load_ir
        from flowyard.requests import Remote
        from flowyard_argo import ArgoBackend, service

        ir = load_ir(spec)
        backend = ArgoBackend()
        from flowyard_argo.compiler import manifest_document

        wf = manifest_document(ir, backend.options)
        wf["metadata"] = {"name": "taken"}
        conn = service.connect(Remote(server=url))
        from flowyard.errors import InfrastructureError

        with pytest.raises(InfrastructureError, match=r"name is taken .*\(409\)") as exc:
            service.create(conn, wf)
        assert exc.value.exit_code == 3


def test_unreachable_server_and_tls_errors_are_one_line_and_exit_3() -> None:
    with argo_server() as (url, _):
        tls_url = url.replace("http://", "https://")  # TLS against a plain-HTTP server
    r = CliRunner().invoke(cli, ["submit", SEQUENTIAL, "-b", "argo", "--server", url])
    assert r.exit_code == 3 and "cannot connect to" in r.output and "Traceback" not in r.output
    with argo_server() as (url, _):
        tls_url = url.replace("http://", "https://")
        r = CliRunner().invoke(cli, ["submit", SEQUENTIAL, "-b", "argo", "--server", tls_url])
    assert r.exit_code == 3 and "TLS failed" in r.output and len(r.output.strip().splitlines()) == 1


def test_no_server_anywhere_says_where_to_give_one() -> None:
    r = CliRunner().invoke(cli, ["submit", SEQUENTIAL, "-b", "argo"])
    assert r.exit_code == 3 and "ARGO_SERVER" in r.output


def test_the_created_body_matches_argos_api_spec() -> None:
    """The stand-in already rejects a body that breaks the spec (400); check it is really checked."""
    errors = body_errors(
        {"$ref": "#/definitions/io.argoproj.workflow.v1alpha1.WorkflowCreateRequest"},
        {"workflow": {"metadata": {"generateName": "x-"}, "spec": {"parallelism": "two"}}},
    )
    assert errors


def test_log_stream_parser_reads_one_object_per_line_and_reports_stream_errors() -> None:
    from flowyard.errors import InfrastructureError
    from flowyard_argo.service import parse_log_stream

    lines = [b'{"result":{"podName":"p1","content":"a"}}', b"", b'{"result":{"podName":"p2","content":"b \\u00e9"}}']
    assert [r["content"] for r in parse_log_stream(iter(lines))] == ["a", "b é"]
    with pytest.raises(InfrastructureError, match="stopped the log stream: pod gone"):
        list(parse_log_stream(iter([b'{"error":{"code":5,"message":"pod gone"}}'])))


def test_node_status_maps_fan_out_children_to_items_and_hides_flowyards_own_nodes() -> None:
    """Node shapes as the controller reports them for variant 2 (a wrapper DAG, loop children named
    ``task(i:item)``, the numbering helper, the exit handler)."""
    from flowyard.testing.contract import canonical_ir
    from flowyard_argo.backend import _step_names
    from flowyard_argo.service import run_status

    def node(id_, display, template, type_="Pod", phase="Succeeded", **extra):
        return id_, {
            "id": id_,
            "name": f"wf.{display}",
            "displayName": display,
            "templateName": template,
            "type": type_,
            "phase": phase,
            "startedAt": "2026-11-27T10:00:00Z",
            "finishedAt": "2026-11-27T10:00:02Z",
            **extra,
        }

    nodes = dict(
        [
            node("wf", "wf", "main", type_="DAG"),
            node("wf-1", "activator-items", "flowyard-items"),
            node("wf-2", "activator", "activator-loop", type_="DAG"),
            node("wf-3", 'activator(0:{"index":"000000"})', "activator", outputs={"exitCode": "0"}),
            node(
                "wf-4",
                'activator(1:{"index":"000001"})',
                "activator",
                phase="Failed",
                message="exit 2",
                outputs={"exitCode": "2"},
            ),
            node("wf-5", "processor", "processor", type_="TaskGroup"),
        ]
    )
    wf = {
        "metadata": {"name": "wf"},
        "status": {"phase": "Failed", "nodes": nodes, "startedAt": "2026-11-27T10:00:00Z"},
    }
    st = run_status(wf, "seed-fanout", _step_names(canonical_ir("seed-fanout")), "http://x")
    assert [(t.step, t.item, t.state.value, t.exit_code) for t in st.tasks] == [
        ("activator", 0, "Succeeded", 0),
        ("activator", 1, "Failed", 2),
    ]
    assert st.tasks[1].message == "exit 2" and st.tasks[0].duration == 2.0
    assert st.state.value == "Failed"


def test_a_parameter_value_over_the_argv_limit_is_refused_before_anything_is_sent(tmp_path) -> None:
    big = tmp_path / "params.json"
    big.write_text(json.dumps({"message": {"msg": "x" * (130 * 1024)}}))
    with argo_server() as (url, state):
        r = CliRunner().invoke(cli, ["submit", SEQUENTIAL, "-b", "argo", "--server", url, "--params-file", str(big)])
        assert r.exit_code == 2 and "step 'activator' holds it in its command" in r.output, r.output
        assert "MAX_ARG_STRLEN" in r.output
        assert not state.requests


def test_status_numbers_fan_out_items_from_the_controllers_node_names(tmp_path) -> None:
    """parallel-limits: `a` loops inside its wrapper DAG, `b` directly; the stand-in reports a
    `task(i:item)` Pod per item, as Argo does, and the tree shows them as items 0..n-1."""
    from flowyard.requests import Remote, SubmitRequest
    from flowyard.testing.contract import canonical_ir
    from flowyard_argo import ArgoBackend

    backend = ArgoBackend({"default_image": "img", "poll_seconds": 0.01})
    with argo_server() as (url, _):
        st = backend.submit(
            canonical_ir("parallel-limits"), SubmitRequest(remote=Remote(server=url), watch=True, runs_root=tmp_path)
        )
    assert st.state.value == "Succeeded"
    assert [(t.step, t.item) for t in st.tasks] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("b", 0),
        ("b", 1),
        ("b", 2),
    ]
    assert all(t.exit_code == 0 for t in st.tasks)


def test_a_fanned_out_task_records_its_item_not_the_whole_list(tmp_path) -> None:
    with argo_server() as (url, state):
        r = flowyard("submit", FANOUT, "-b", "argo", "--server", url, "--watch", *FAST)
        assert r.exit_code == 0, r.output
        ((_, name),) = state.workflows
    records = sorted((tmp_path / "home" / "runs" / name / "tasks" / "activator").rglob(PROVENANCE_FILE))
    assert records
    for path in records:
        record = json.loads(path.read_text())
        assert record["step"] == "activator"
        assert "messages" not in record["parameters"], record["parameters"]
