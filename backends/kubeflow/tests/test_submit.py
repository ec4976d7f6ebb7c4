"""Submitting to a KFP API server (its v2beta1 REST API, as kfp.Client calls it), against the stand-in (checked against KFP's API
spec; the run's pipeline_spec parsed strictly). Expected failures: one line, exit code 3."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli

from .kfp_server_standin import kfp_api, kfp_server

ROOT = Path(__file__).resolve().parents[3]
SEQUENTIAL = str(ROOT / "examples" / "activator_processor" / "sequential.yaml")
FANOUT = str(ROOT / "examples" / "activator_processor" / "fanout.yaml")
FAST = ["-O", "poll_seconds=0.01"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in ("KFP_SERVER", "KFP_TOKEN", "KFP_NAMESPACE", "KFP_EXPERIMENT", "KFP_INSECURE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLOWYARD_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("FLOWYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path))  # kfp.Client reads ~/.config/kfp/context.json


def flowyard(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_submit_creates_a_run_in_the_named_experiment_with_the_parameters() -> None:
    with kfp_server(token="t0k") as (url, state):
        r = flowyard(
            "submit",
            SEQUENTIAL,
            "-b",
            "kubeflow",
            "--server",
            url,
            "--token",
            "t0k",
            "--experiment",
            "hsi",
            "-p",
            'message={"msg": "hi"}',
        )
        assert r.exit_code == 0, r.output
        (exp,) = state.experiments.values()
        assert exp["display_name"] == "hsi"
        (run,) = state.runs.values()
        assert run["experiment_id"] == exp["experiment_id"]
        assert run["runtime_config"]["parameters"] == {"message": {"msg": "hi"}}
        assert run["pipeline_spec"]["pipelineInfo"]["name"] == "activator-processor-sequential"
        assert run["run_id"] in r.output and "flowyard status" in r.output
        assert "Experiment details" not in r.output  # kfp.Client's own prints stay out of ours
        for op, answer in state.answers:  # the stand-in's own answers match KFP's API
            assert not kfp_api().response_errors(_operation(op["operationId"]), 200, answer), op


def _operation(operation_id: str) -> dict:
    for _, _, op in kfp_api().routes:
        if op.get("operationId") == operation_id:
            return op
    raise KeyError(operation_id)


def test_submit_watch_prints_the_status_tree_and_records_the_run(tmp_path) -> None:
    with kfp_server() as (url, state):
        r = flowyard("submit", FANOUT, "-b", "kubeflow", "--server", url, "--watch", *FAST)
        assert r.exit_code == 0, r.output
        assert "Succeeded" in r.output and "activator" in r.output and "processor" in r.output
        steps = [line.split()[1] for line in r.output.split("STEP", 1)[1].splitlines()[1:] if line.strip()]
        assert sorted(steps) == ["activator", "processor"]  # KFP's loop groups and our sub-pipeline are not steps
        (run_id,) = state.runs
    status = json.loads((tmp_path / "home" / "runs" / run_id / "run.json").read_text())
    assert status["state"] == "Succeeded" and status["backend"] == "kubeflow"


def test_a_failed_run_exits_1() -> None:
    with kfp_server(fail=True) as (url, _):
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url, "--watch", *FAST)
    assert r.exit_code == 1, r.output
    assert "Failed" in r.output


def test_status_of_a_run_by_id() -> None:
    with kfp_server() as (url, state):
        flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url)
        (run_id,) = state.runs
        r = flowyard("status", run_id, "-b", "kubeflow", "--server", url, "--json")
        assert r.exit_code == 0, r.output
        data = json.loads(r.output)
        assert data["run_id"] == run_id and data["status"] == "Running"
        assert {t["step"] for t in data["tasks"]} == {"activator", "processor"}


def test_settings_fall_back_to_env_then_config(monkeypatch, tmp_path) -> None:
    with kfp_server(token="envtok") as (url, state):
        monkeypatch.setenv("KFP_SERVER", url)
        monkeypatch.setenv("KFP_TOKEN", "envtok")
        cfg = tmp_path / "config.yaml"
        cfg.write_text("kubeflow:\n  experiment: from-config\n")
        monkeypatch.setenv("FLOWYARD_CONFIG", str(cfg))
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow")
        assert r.exit_code == 0, r.output
        assert [e["display_name"] for e in state.experiments.values()] == ["from-config"]


def test_an_auth_failure_is_one_line_and_exit_3() -> None:
    with kfp_server(token="right") as (url, _):
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url, "--token", "wrong")
    assert r.exit_code == 3, r.output
    assert "refused the credentials (401)" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_an_unreachable_host_is_one_line_and_exit_3() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", f"http://127.0.0.1:{port}")
    assert r.exit_code == 3, r.output
    assert "cannot connect to" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_rejected_package_is_one_line_and_exit_3(monkeypatch) -> None:
    """The server parses the pipeline spec strictly; a package it refuses is reported, not a traceback."""
    from flowyard_kubeflow import compiler

    real = compiler.KfpCompiler.package
    monkeypatch.setattr(
        compiler.KfpCompiler,
        "package",
        lambda self: real(self).replace("schemaVersion: 2.1.0", "schemaVersion: 2.1.0\nbogusField: 1"),
    )
    with kfp_server() as (url, state):
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url)
    assert r.exit_code == 3, r.output
    assert "bogusField" in r.output and len(r.output.strip().splitlines()) == 1
    assert not state.runs


def test_a_run_the_server_rejects_is_one_line_and_exit_3() -> None:
    with kfp_server(reject="pipeline spec is invalid: unknown input parameter") as (url, state):
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url)
    assert r.exit_code == 3, r.output
    assert "rejected the request (400): Invalid input error: pipeline spec is invalid" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not state.runs


def test_no_server_anywhere_says_where_to_give_one() -> None:
    r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow")
    assert r.exit_code == 3 and "KFP_SERVER" in r.output


@pytest.mark.parametrize("text", ["a$$b", "$(KFP_POD_NAME)"])
def test_a_value_the_kubelet_would_rewrite_is_refused_before_the_server_is_asked(text: str) -> None:
    """KFP's driver resolves a task's values into its pod's ``args`` (``driver.go`` ``resolveContainerArgs``), which the
    kubelet expands (``$$`` to ``$``, ``$(NAME)`` to a variable's value): the step would get another value than
    locally, silently. Refused by name, exit 2, nothing created."""
    with kfp_server() as (url, state):
        r = flowyard("submit", SEQUENTIAL, "-b", "kubeflow", "--server", url, "-p", f'message={{"msg": "{text}"}}')
        assert r.exit_code == 2, r.output
        assert "kubelet-expansion" in r.output and "'message'" in r.output
        assert not state.runs and not state.experiments


DOLLAR_DEFAULT = """\
apiVersion: flowyard/v1
kind: Pipeline
name: dollars
parameters:
  message: {type: string, default: "costs $$5"}
steps:
  echo:
    inputs: {m: "${{ params.message }}"}
    container:
      image: python:3.12-alpine
      command: [python, -c, "import sys; print(sys.argv[1])", "${{ inputs.m }}"]
"""


def test_a_default_the_kubelet_would_rewrite_is_refused_only_when_the_run_uses_it(tmp_path: Path) -> None:
    """The refusal reads the values the run uses: a parameter given a value does not use its default."""
    spec = tmp_path / "p.yaml"
    spec.write_text(DOLLAR_DEFAULT, encoding="utf-8")
    with kfp_server() as (url, state):
        refused = flowyard("submit", str(spec), "-b", "kubeflow", "--server", url)
        assert refused.exit_code == 2 and "kubelet-expansion" in refused.output, refused.output
        assert "parameter 'message'" in refused.output and not state.runs
        given = flowyard("submit", str(spec), "-b", "kubeflow", "--server", url, "-p", "message=five")
        assert given.exit_code == 0, given.output
        assert len(state.runs) == 1
