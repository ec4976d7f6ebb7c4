"""An empty fan-out feeds its consumers as locally: they run, on an empty folder of files (issue 15, divergence 3).

docs/spec.md: a fan-in receives the whole collection in item order; an empty fan-out's is empty. On Argo a loop over
an empty list is a ``Skipped`` node ("Skipped, empty params": ``dag.go`` ``executeDAGTask``, v3.6.19 to v4.1.2), so
a consumer waiting for ``X.Succeeded`` was Omitted, and the items' key prefix does not exist, so a non-optional input
artifact fails with NotFound (``loadS3Artifact``). Executed through the executor, next to the local run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from flowyard.testing.cli import user_cli
from flowyard.testing.contract import canonical_ir
from flowyard_argo.executor.versions import ARGO_VERSIONS

from .conftest import manifest, needs_pods, template

EMPTY_FAN_OUT = """\
apiVersion: flowyard/v1
kind: Pipeline
name: empty
parameters:
  xs: {type: list, default: []}
defaults:
  image: python:3.12-alpine
steps:
  write:
    for_each: ${{ params.xs }}
    container:
      command: [python, -c, "open('o.txt', 'w').write('x')"]
    outputs:
      out: o.txt
  gather:
    container:
      command: [python, -c, "import os, sys; print(len(os.listdir(sys.argv[1])))", "${{ inputs.files.path }}"]
    inputs:
      files: {value: "${{ steps.write.outputs.out }}", path: files}
"""


def statuses(doc: dict, steps: set[str]) -> list[tuple[str, str]]:
    """The tasks of the pipeline's steps (those the local run has); an Argo run's helper pods left out."""
    return sorted((t["step"], t["status"]) for t in doc["tasks"] if t["step"] in steps)


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize(
    "xs",
    [
        pytest.param([], id="empty"),
        pytest.param([1, 2], id="two"),
    ],
)
def test_the_consumer_of_a_fan_out_runs_as_locally_even_when_it_is_empty(tmp_path: Path, version: str, xs) -> None:
    (tmp_path / "p.yaml").write_text(EMPTY_FAN_OUT, encoding="utf-8")
    param = f"xs={json.dumps(xs)}"
    local = json.loads(user_cli("run", "p.yaml", "-p", param, "--json", cwd=tmp_path).stdout)
    assert user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=tmp_path).returncode == 0
    run = ["run", "wf.yaml", "--backend", "argo", "-O", f"argo_version={version}", "-p", param, "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    assert argo["status"] == local["status"] == "Succeeded"
    steps = {t["step"] for t in local["tasks"]}
    assert statuses(argo, steps) == statuses(local, steps)
    printed = next(Path(argo["location"]).glob("pods/*-gather-*/stdout.log")).read_text()
    assert int(printed) == len(xs)  # a container consumer sees the files, or an empty folder as locally


def test_a_python_consumer_of_an_empty_fan_out_gets_an_empty_folder(tmp_path: Path) -> None:
    """The compiled entrypoint's argv for the fan-in, run for real on a folder the engine never made."""
    doc = manifest(canonical_ir("fan-in-files"))
    command = template(doc, "gather")["container"]["command"]
    at = command.index("--folder")
    assert command[at + 1 : at + 3] == ["folder", "/flowyard/inputs/folder"]
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "flowyard.step", "exec", "--kind", "python", "--workdir", str(tmp_path / "w")]
    argv += ["--function", "flowyard.testing.functions:gather_json", "--folder", "folder", str(tmp_path / "none")]
    argv += ["--output", "out", "file", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == []


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_the_gatherer_of_an_empty_fan_outs_values_gets_an_empty_list(tmp_path: Path, version: str) -> None:
    """The compiled fan-in-values manifest with ``xs = []``, run by the executor; its Python consumer (which needs
    flowyard-core in its image) swapped for a container printing what it is given, and the item step's body, never
    started, for one without expression tags. The gathered loop is wrapped:
    the wrapper of a Skipped loop succeeds, and its output falls back to ``valueFrom.default``
    (``getTemplateOutputsFromScope``; v4.1.2's ``addSkippedNodeOutputsToScope`` marks it skipped)."""
    doc = manifest(canonical_ir("fan-in-values"))
    doc["metadata"]["name"] = "gathered"
    for param in doc["spec"]["arguments"]["parameters"]:
        if param["name"] == "xs":
            param["value"] = "[]"
    total = template(doc, "total")
    total["container"] = {
        "image": "python:3.12-alpine",
        "command": ["python", "-c", "import sys; print(sys.argv[1])", "{{inputs.parameters.xs}}"],
    }
    total.pop("outputs", None)
    total["inputs"].pop("artifacts", None)  # the aggregate's raw file, for the entrypoint only
    double = template(doc, "double")  # never started (no items); its {{=...}} item tags the executor cannot read yet
    double["container"] = {"image": "python:3.12-alpine", "command": ["python", "-c", "pass"]}
    doc["spec"].pop("onExit", None)
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    images = tmp_path / "images.yaml"
    images.write_text(yaml.safe_dump({"registry.example/*": {"programs": {"python3": [sys.executable]}}}))
    run = ["run", "wf.yaml", "--backend", "argo", "-O", f"argo_version={version}", "-O", f"image_map={images}"]
    argo = json.loads(user_cli(*run, "--json", cwd=tmp_path).stdout)
    assert argo["status"] == "Succeeded", argo
    printed = next(Path(argo["location"]).glob("pods/*-total-*/stdout.log")).read_text().strip()
    assert json.loads(printed) == []


GUARDED = EMPTY_FAN_OUT.replace(
    "  xs: {type: list, default: []}\n", "  xs: {type: list, default: []}\n  go: {type: bool}\n"
)
GUARDED = GUARDED.replace(
    "    for_each: ${{ params.xs }}\n", "    for_each: ${{ params.xs }}\n    when: ${{ params.go }}\n"
)


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize("go", [True, False])
def test_the_consumer_of_an_empty_fan_out_with_a_when_runs_as_locally(tmp_path: Path, version: str, go: bool) -> None:
    """A loop over no items and a loop whose ``when`` is false are both a Skipped node on Argo; locally the first feeds
    its consumer an empty collection, the second omits it (docs/spec.md "Skipped steps", "Fan-out and fan-in")."""
    (tmp_path / "p.yaml").write_text(GUARDED, encoding="utf-8")
    params = ["-p", "xs=[]", "-p", f"go={json.dumps(go)}"]
    local = json.loads(user_cli("run", "p.yaml", *params, "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", *params, "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    ran = {t["step"]: t["status"] for t in local["tasks"]}.get("gather")
    assert ran == ("Succeeded" if go else "Omitted")
    assert {t["step"]: t["status"] for t in argo["tasks"]}.get("gather") == ran
