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
from flowyard_argo.executor.artifacts.repository import FOLDER, has_location_or_key
from flowyard_argo.executor.leaf import _mounted
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


@pytest.mark.parametrize(
    ("location", "has"),
    [
        pytest.param({"s3": {"bucket": "b"}}, False, id="s3-bucket-only"),
        pytest.param({"s3": {"endpoint": "e", "bucket": "b"}}, False, id="s3-no-key"),
        pytest.param({"s3": {"key": "k"}}, True, id="s3-key-only"),
        pytest.param({"s3": {"endpoint": "e", "bucket": "b", "key": "k"}}, True, id="s3-complete"),
        pytest.param({"gcs": {"bucket": "b"}}, False, id="gcs-bucket-only"),
        pytest.param({"azure": {"blob": "x"}}, True, id="azure-blob-is-its-key"),
        pytest.param({"hdfs": {"path": "/p"}}, True, id="hdfs-path-is-its-key"),
        pytest.param({"hdfs": {"addresses": []}}, False, id="hdfs-nothing"),
        pytest.param({"git": {"repo": "https://example.com/r.git"}}, True, id="git-repo"),
        pytest.param({"git": {}}, False, id="git-nothing"),
        pytest.param({"http": {"url": "https://example.com/f"}}, True, id="http-url"),
        pytest.param({"artifactory": {"url": "https://example.com/a/f"}}, True, id="artifactory-url-path-is-its-key"),
        pytest.param({"artifactory": {"url": "https://example.com"}}, False, id="artifactory-no-path-no-secret"),
        pytest.param({"raw": {"data": ""}}, True, id="raw-is-a-location"),
        pytest.param({"raw": {"data": "x"}, "s3": {"bucket": "b"}}, True, id="the-first-kind-decides"),
        pytest.param({"s3": {"bucket": "b"}, "plugin": {"key": "k"}}, False, id="s3-before-plugin"),
        pytest.param({FOLDER: {"key": "k"}}, True, id="the-run-folders-key"),
        pytest.param({}, False, id="no-kind"),
    ],
)
def test_has_location_or_key_is_argos(location: dict[str, object], has: bool) -> None:
    assert has_location_or_key({"name": "a", **location}) is has


def test_an_optional_input_with_neither_is_not_mounted_and_one_with_a_key_is() -> None:
    """``addInputArtifactsVolumes``: the same rule decides the mount (a key alone mounts it, found or not)."""
    assert not _mounted({"name": "a", "path": "/tmp/a", "optional": True, "s3": {"bucket": "b"}}, {})
    assert _mounted({"name": "a", "path": "/tmp/a", "optional": True, "s3": {"key": "k"}}, {})
    assert _mounted({"name": "a", "path": "/tmp/a", "s3": {"bucket": "b"}}, {})  # not optional: ProcessArgs decides


ABSENT = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: absent}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: inner, template: inner}
  - name: inner
    inputs:
      artifacts:
      - {name: a, optional: true}
    dag:
      tasks:
      - name: use
        template: show
        arguments: {artifacts: [{name: a, from: "{{inputs.artifacts.a}}"}]}
  - name: show
    inputs:
      artifacts:
      - {name: a, path: /tmp/a, OPTIONAL}
    container: {image: python:3.12, command: [python, -c, "import os; print(os.path.exists('/tmp/a'))"]}
"""


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_an_absent_optional_input_of_a_dag_passes_on_as_an_artifact_with_nowhere_to_load_from(
    tmp_path: Path, version: str
) -> None:
    """``createScope`` (``workflow/controller/scope.go``) puts each of the template's input artifacts in the scope,
    an optional one that was not supplied too; ``from`` resolves to it (``resolveArtifact``), and the consumer's
    optional input gets it: nowhere to load from, so nothing at its path (the flag ``optional`` comes with it)."""
    run = run_manifest(ABSENT.replace("OPTIONAL", "optional: true"), tmp_path, version)
    assert run.phase is TaskState.SUCCEEDED, run.message
    pod = by_display(run)["use"].pod  # type: ignore[attr-defined]
    assert (tmp_path / "pods" / pod / "stdout.log").read_text().strip() == "False"


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_an_absent_optional_input_passed_to_a_required_one_has_no_location(tmp_path: Path, version: str) -> None:
    """``ProcessArgs``: an argument with neither a location nor a key for an input that needs one is refused."""
    run = run_manifest(ABSENT.replace(", OPTIONAL", ""), tmp_path, version)
    assert run.phase is TaskState.ERROR
    message = by_display(run)["use"].message  # type: ignore[attr-defined]
    assert "inputs.artifacts.a missing location information" in message
