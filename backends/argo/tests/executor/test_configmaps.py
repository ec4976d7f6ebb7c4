"""ConfigMap parameters (``configMapKeyRef``) from ``-O configmaps=FOLDER`` or the environment, read as the
controller reads them: the Parameter label required, a missing map or key taking the ``default``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import needs_namespaces
from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

pytestmark = needs_namespaces

FROM_CONFIGMAP = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: cm}}
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: greeting
      valueFrom: {{configMapKeyRef: {{name: {name}, key: greeting}}{default}}}
  templates:
  - name: main
    inputs:
      parameters:
      - name: target
        valueFrom: {{configMapKeyRef: {{name: "{{{{workflow.parameters.greeting}}}}-map", key: target}}}}
    container:
      image: busybox
      command: [echo, "{{{{workflow.parameters.greeting}}}} {{{{inputs.parameters.target}}}}"]
"""
LABELS = {"workflows.argoproj.io/configmap-type": "Parameter"}


def _maps(folder: Path, labels: dict[str, str]) -> Path:
    maps = folder / "maps"
    maps.mkdir()
    for name, data in {"words": {"greeting": "hello"}, "hello-map": {"target": "world"}}.items():
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": data}
        (maps / f"{name}.yaml").write_text(json.dumps(doc))
    return maps


def _said(folder: Path) -> str:
    pod = next(n["podName"] for n in workflow_status("cm")["nodes"].values() if n.get("podName"))
    return (folder / ".flowyard/runs/cm/pods" / pod / "stdout.log").read_text()


def test_parameters_come_from_the_configmaps_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maps = _maps(tmp_path, LABELS)
    manifest = FROM_CONFIGMAP.format(name="words", default="")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "-O", f"configmaps={maps}")
    assert result.exit_code == 0, result.output
    assert _said(tmp_path) == "hello world\n"  # the input's ConfigMap name was substituted first


def test_the_environment_stands_in_and_a_default_for_a_missing_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARGO_CONFIGMAP_HI_MAP_TARGET", "there")
    manifest = FROM_CONFIGMAP.format(name="absent", default=", default: hi")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 0, result.output
    assert _said(tmp_path) == "hi there\n"


def test_a_configmap_without_the_parameter_label_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maps = _maps(tmp_path, {})
    manifest = FROM_CONFIGMAP.format(name="words", default="")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "-O", f"configmaps={maps}")
    assert result.exit_code == 2
    assert "ConfigMap 'words' needs to have the label workflows.argoproj.io/configmap-type: Parameter" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_input_configmap_errors_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = FROM_CONFIGMAP.format(name="absent", default=", default: hi")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 1
    root = workflow_status("cm")["nodes"]["cm"]
    assert root["phase"] == "Error"
    assert root["message"].startswith("unable to retrieve inputs.parameters.target from ConfigMap: ConfigMap 'hi-map'")


BESIDE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: words
  labels: {workflows.argoproj.io/configmap-type: Parameter}
data: {greeting: hello}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-map
  labels: {workflows.argoproj.io/configmap-type: Parameter}
data: {target: file}
---
"""


def test_a_file_of_several_documents_runs_its_workflow_with_the_configmaps_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = BESIDE + FROM_CONFIGMAP.format(name="words", default="")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 0, result.output
    assert _said(tmp_path) == "hello file\n"


def test_a_file_of_two_workflows_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = FROM_CONFIGMAP.format(name="words", default="")
    result = run_in_fresh_folder(tmp_path, monkeypatch, BESIDE + workflow + "---\n" + workflow, "wf.yaml")
    assert result.exit_code == 2
    assert "several Argo documents in one file (Workflow, Workflow): flowyard run runs one" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_hostile_document_beside_a_workflow_is_refused_within_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every document is read within flowyard's YAML bounds: aliases expanding to 10**7 values are refused
    # by name, never built.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    manifest = FROM_CONFIGMAP.format(name="words", default="") + "---\n" + "\n".join(lines) + "\n"
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output) < 2000
    assert not Path(".flowyard/runs/cm").exists()
