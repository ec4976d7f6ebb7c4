"""Whether an artifact has somewhere to load from, by one rule: ``ArtifactLocation.HasLocationOrKey``
(``pkg/apis/workflow/v1alpha1/workflow_types.go``, v3.6.19 to v4.1.2): the first location kind ``Get`` finds has a
complete location (its ``HasLocation``) or a non-empty key (its ``GetKey``). ``ProcessArgs``
(``workflow/common/util.go``) requires an argument for an input that is not optional and has neither;
``addInputArtifactsVolumes`` (``workflowpod.go``) does not mount an optional one that has neither, and the pod's
``loadArtifact`` (``workflow/executor/executor.go``) does not load it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowyard.runs import TaskState
from flowyard_argo.executor.workflow import ManifestError

from .conftest import by_display, needs_namespaces, run_manifest

NOT_SUPPLIED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: located}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: t, template: show}
  - name: show
    inputs:
      artifacts:
      - {name: a, path: /tmp/a, s3: {bucket: b}}
    container: {image: python:3.12, command: [python, -c, "import os; print(os.path.exists('/tmp/a'))"]}
"""


@needs_namespaces
@pytest.mark.xfail(
    strict=True,
    reason="bind_inputs counts any location kind as a location (its own list), so an S3 input with only a bucket "
    "runs on an empty folder; Argo's HasLocationOrKey says it has neither a key nor a location",
)
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_an_s3_input_with_neither_a_key_nor_a_location_must_be_supplied(tmp_path: Path, version: str) -> None:
    try:
        run = run_manifest(NOT_SUPPLIED, tmp_path, version)
    except ManifestError as e:  # Argo's validation calls ProcessArgs too (validateOnly)
        message = str(e)
    else:
        assert run.phase is not TaskState.SUCCEEDED
        message = by_display(run)["t"].message  # type: ignore[attr-defined]
    assert "inputs.artifacts.a was not supplied" in message
