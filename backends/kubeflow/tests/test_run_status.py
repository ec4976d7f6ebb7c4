"""``${{ run.status }}`` is the same word on every backend (issue 16, item 3). On a KFP server the
on-exit task receives a whole PipelineTaskFinalStatus whose state is the producer's MLMD execution
state (``COMPLETE``, ``CACHED``, ``FAILED``, ``CANCELED``...: kubeflow/pipelines 2.17.0
``backend/src/v2/driver/resolve.go``, ``resolveInputParameter``); the spec promises Succeeded or Failed."""

import json
import os
import subprocess

import pytest
from flowyard.spec import Container, Pipeline, Step

from .conftest import executor, package

SERVER_STATES = {"COMPLETE": "Succeeded", "CACHED": "Succeeded", "FAILED": "Failed", "CANCELED": "Failed"}


def _final_status(state: str) -> str:
    """As the server's driver writes it (protojson of PipelineTaskFinalStatus), an error message that
    mentions a state included."""
    return json.dumps(
        {
            "error": {"message": 'step said "state": "COMPLETE"'},
            "pipelineJobResourceName": "run-1",
            "pipelineTaskName": "exit-handler-1",
            "state": state,
        }
    )


@pytest.mark.parametrize("state", sorted(SERVER_STATES))
def test_a_container_on_exit_step_prints_the_word_the_local_backend_prints(state, tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={"s": Step(container=Container(command=["true"], image="alpine:3"))},
        on_exit=Step(container=Container(command=["printf", "%s|", "run ended: ${{ run.status }}."], image="alpine:3")),
    )
    command = executor(package(p, tmp_path), "on-exit")["command"]
    placeholder = "{{$.inputs.parameters['status']}}"
    argv = [a.replace(placeholder, _final_status(state)) for a in command]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env={**os.environ}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"run ended: {SERVER_STATES[state]}.|"


@pytest.mark.parametrize("state", sorted(SERVER_STATES))
def test_a_python_on_exit_step_sees_the_same_word(state) -> None:
    from flowyard_kubeflow.run_status import status_word

    assert status_word(state) == SERVER_STATES[state]
