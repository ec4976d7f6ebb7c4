"""Argo's own examples (v4.1.2) run through the CLI: what they showed the executor got wrong, each pinned by a
manifest of the same shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from .conftest import needs_namespaces


def run_in_fresh_folder(folder: Path, monkeypatch: pytest.MonkeyPatch, manifest: str, file: str, *args: str) -> Result:
    """``flowyard run FILE ARGS`` as a user runs it: in ``folder``, nothing configured."""
    from click.testing import CliRunner
    from flowyard._cli import cli

    monkeypatch.chdir(folder)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    Path(file).write_text(manifest)
    return CliRunner().invoke(cli, ["run", file, *args], catch_exceptions=False)


def workflow_status(name: str) -> dict[str, Any]:
    """The executed workflow's ``status``, from the default runs folder."""
    status: dict[str, Any] = json.loads(Path(f".flowyard/runs/{name}/workflow.json").read_text())["status"]
    return status


def test_a_workflow_template_ref_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The controller takes the entrypoint (and the templates) from the referenced WorkflowTemplate, so a manifest
    # with workflowTemplateRef and no entrypoint is valid there: here it is the reference that cannot run.
    manifest = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: ref-}\n"
        "spec:\n  arguments: {parameters: [{name: message, value: hi}]}\n"
        "  workflowTemplateRef: {name: workflow-template-submittable}\n"
    )
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "ref.yaml")
    assert result.exit_code == 2
    assert "workflowTemplateRef" in result.output
    assert len(result.output.strip().splitlines()) == 1


DAG_TARGET = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: target-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: target, value: b}]}
  templates:
  - name: main
    dag:
      target: "{{workflow.parameters.target}}"
      tasks:
      - {name: a, template: ok}
      - {name: b, template: ok, depends: a}
      - {name: c, template: ok}
  - name: ok
    container: {image: "python:3.12", command: [python, -c, pass]}
"""


@needs_namespaces
def test_a_dag_target_named_by_a_workflow_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # validate.go validateTemplate runs ProcessArgs (the workflow's parameters) before validateDAGTargets:
    # Argo's examples/dag-targets.yaml names its target so.
    result = run_in_fresh_folder(tmp_path, monkeypatch, DAG_TARGET, "t.yaml", "--name", "t")
    assert result.exit_code == 0, result.output
    status = workflow_status("t")
    phases = {n["displayName"]: n["phase"] for n in status["nodes"].values()}
    assert phases == {"t": "Succeeded", "a": "Succeeded", "b": "Succeeded"}


RAW_ARGUMENT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: raw-}
spec:
  entrypoint: main
  arguments:
    artifacts: [{name: text, raw: {data: "1\\n2\\n3\\n"}}]
  templates:
  - name: main
    inputs: {artifacts: [{name: text, path: /in/text}]}
    outputs: {parameters: [{name: lines, valueFrom: {path: /in/text}}]}
    container: {image: "python:3.12", command: [python, -c, pass]}
"""


@needs_namespaces
def test_the_workflows_argument_artifacts_reach_the_entrypoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # operator.go operate: the entrypoint is executed with wf.Spec.Arguments, artifacts included
    # (Argo's examples/artifact-path-placeholders.yaml).
    result = run_in_fresh_folder(tmp_path, monkeypatch, RAW_ARGUMENT, "r.yaml", "--name", "r")
    assert result.exit_code == 0, result.output
    status = workflow_status("r")
    (root,) = status["nodes"].values()
    assert root["outputs"]["parameters"][0]["value"] == "1\n2\n3"


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ("artifacts: [{name: k, http: {url: 'https://example.com/k'}}]", "spec.arguments.artifacts.k: http artifacts"),
        (
            "parameters: [{name: m, valueFrom: {configMapKeyRef: {name: c, key: k}}}]",
            "failed to set global parameter m from configmap with name c and key k: ConfigMap 'c' does not exist",
        ),
    ],
)
def test_what_the_workflows_arguments_need_is_refused_by_name(
    arguments: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: a-}\nspec:\n  entrypoint: main\n"
        f"  arguments: {{{arguments}}}\n"
        "  templates:\n  - name: main\n    container: {image: 'python:3.12', command: [python, -c, pass]}\n"
    )
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "a.yaml")
    assert result.exit_code == 2, result.output
    assert named in result.output


SUB_PATH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sub-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: read
        template: read
        arguments:
          artifacts: [{name: m, from: "{{steps.make.outputs.artifacts.out}}", subPath: d/hello.txt}]
  - name: make
    container:
      image: "python:3.12"
      command: [python, -c, "import os; os.makedirs('/tmp/out/d'); open('/tmp/out/d/hello.txt', 'w').write('hi')"]
    outputs: {artifacts: [{name: out, path: /tmp/out, archive: {none: {}}}]}
  - name: read
    inputs: {artifacts: [{name: m, path: /tmp/m}]}
    container: {image: "python:3.12", command: [python, -c, "print(open('/tmp/m').read())"]}
"""


@needs_namespaces
def test_an_argument_artifacts_sub_path_picks_a_file_of_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scope.go resolveArtifact: subPath is appended to the artifact's key (AppendToKey)
    # (Argo's examples/artifact-passing-subpath.yaml).
    result = run_in_fresh_folder(tmp_path, monkeypatch, SUB_PATH, "s.yaml", "--name", "s")
    assert result.exit_code == 0, result.output
    (log,) = Path(".flowyard/runs/s/pods").glob("s-read-*/stdout.log")
    assert log.read_text() == "hi\n"


OUTPUT_FOLDER = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: out-}
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: "python:3.12"
      command: [python]
      source: |
        import os
        os.mkdir("/mnt/out")
        open("/mnt/out/part.json", "w").write("{}")
    outputs: {artifacts: [{name: part, path: /mnt/out/part.json, archive: {none: {}}}]}
"""


@needs_namespaces
def test_an_output_paths_folder_is_the_pods_to_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only input artifacts are mounted into the main container (workflowpod.go addInputArtifactsVolumes, one
    # subPath per input; addOutputArtifactsVolumes only mirrors main's mounts to the wait container): an output
    # path is read from the container's own filesystem, so its folder exists only if the image or the pod made
    # it (Argo's examples/map-reduce.yaml makes /mnt/out itself, and upstream's example test expects Succeeded).
    result = run_in_fresh_folder(tmp_path, monkeypatch, OUTPUT_FOLDER, "o.yaml", "--name", "o")
    assert result.exit_code == 0, result.output
    assert [p.read_text() for p in Path(".flowyard/runs/o/artifacts").rglob("part")] == ["{}"]


SCRIPT_RUN_BY_SH_C = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sh-}
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: "python:3.12"
      command: [/usr/bin/sh, -c]
      source: "#!/usr/bin/sh\\necho from the script\\n"
"""


@needs_namespaces
def test_a_script_source_is_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # executor.go StageFiles writes a script template's source with mode 0755, so `command: [sh, -c]` runs the
    # staged file as a program (Argo's examples/scripts-bash.yaml).
    images = tmp_path / "images.yaml"
    images.write_text("python:3.12: {programs: {/usr/bin/sh: /usr/bin/sh}}\n")
    result = run_in_fresh_folder(
        tmp_path, monkeypatch, SCRIPT_RUN_BY_SH_C, "s.yaml", "--name", "s", "-O", f"image_map={images}"
    )
    assert result.exit_code == 0, result.output
    (log,) = Path(".flowyard/runs/s/pods").glob("*/stdout.log")
    assert log.read_text() == "from the script\n"
