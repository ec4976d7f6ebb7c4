"""A manifest run leaves core's run folder: a journal of node results, each pod's logs as a task's log files,
its status for ``flowyard status``; read back from a fresh folder with nothing configured, as a user would."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flowyard.cli import cli
from flowyard.runs import find_run, read_journal

from .conftest import needs_namespaces

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: greet}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello, template: say, arguments: {parameters: [{name: text, value: hello}]}}
    - - name: each
        template: say
        arguments: {parameters: [{name: text, value: "item {{item}}"}]}
        withItems: [a, b]
    - - {name: bye, template: say, arguments: {parameters: [{name: text, value: bye}]}}
  - name: say
    inputs: {parameters: [{name: text}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.text}}"]}
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    (tmp_path / "greet.yaml").write_text(MANIFEST)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@needs_namespaces
def test_a_manifest_run_writes_the_journal_and_status_and_logs_read_it(here):
    assert invoke("run", "greet.yaml").exit_code == 0
    run = find_run("greet")
    events = [e for e in read_journal(run.journal_file) if e.get("t") == "task"]
    assert sorted((e["step"], e["item"], e["state"]) for e in events) == [
        ("bye", None, "Succeeded"),
        ("each", 0, "Succeeded"),
        ("each", 1, "Succeeded"),
        ("hello", None, "Succeeded"),
    ]
    status = invoke("status", "greet")
    assert status.exit_code == 0, status.output
    assert "each" in status.output and "2 items: 2 succeeded" in status.output
    logs = invoke("logs", "greet")
    assert logs.exit_code == 0, logs.output
    assert logs.output.splitlines() == ["bye: bye", "each[0]: item a", "each[1]: item b", "hello: hello"]
    one = invoke("logs", "greet", "each", "--item", "1")
    assert one.output.splitlines() == ["each[1]: item b"]
    as_json = json.loads(invoke("status", "greet", "--json").output)
    assert {t["step"] for t in as_json["tasks"]} == {"hello", "each", "bye"}
