"""Workflow-level ``activeDeadlineSeconds``: the controller's rules (``operator.go`` ``getWorkflowDeadline``,
``failSuspendedAndPendingNodesAfterDeadlineOrShutdown``, ``processNodeRetries``; ``exec_control.go``
``applyExecutionControl``; ``workflowpod.go`` the pod's ``activeDeadlineSeconds``), run from a fresh folder."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import needs_namespaces

DEADLINE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: late}
spec:
  entrypoint: main
  activeDeadlineSeconds: 2
  onExit: goodbye
  templates:
  - name: main
    steps:
    - - {name: slow, template: sleep}
      - {name: flaky, template: flaky}
      - {name: pause, template: pause}
    - - {name: never, template: sleep}
  - name: sleep
    container: {image: busybox, command: [sleep, "30"]}
  - name: flaky
    retryStrategy: {limit: 20}
    container: {image: busybox, command: [sh, -c, "sleep 0.3; exit 1"]}
  - name: pause
    suspend: {duration: "60"}
  - name: goodbye
    container: {image: busybox, command: [sh, -c, "sleep 0.5; echo {{workflow.status}}"]}
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


@needs_namespaces
def test_the_workflow_deadline_fails_running_steps_stops_retries_and_spares_the_exit_handler(here):
    (here / "late.yaml").write_text(DEADLINE)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["run", "late.yaml"], catch_exceptions=False)
    assert time.monotonic() - started < 15  # not the 30 s sleep nor the 60 s suspend
    assert result.exit_code == 1, result.output
    nodes = json.loads((here / ".flowyard" / "runs" / "late" / "workflow.json").read_text())["status"]["nodes"]
    by_name = {n["displayName"]: n for n in nodes.values()}
    assert (by_name["slow"]["phase"], by_name["slow"]["message"]) == ("Failed", "Step exceeded its deadline")
    assert (by_name["pause"]["phase"], by_name["pause"]["message"]) == ("Failed", "Step exceeded its deadline")
    assert by_name["flaky"]["phase"] == "Failed"
    assert by_name["flaky"]["message"].startswith("retry exceeded workflow deadline ")
    assert by_name["flaky"]["message"].endswith(" +0000 UTC")
    assert "never" not in by_name  # the step group failed: the next one never starts
    assert by_name["late.onExit"]["phase"] == "Succeeded"  # exit handlers are not subject to the deadline
    status = json.loads((here / ".flowyard" / "runs" / "late" / "workflow.json").read_text())["status"]
    assert status["phase"] == "Failed"
