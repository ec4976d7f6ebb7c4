"""A fan-out over a fanned-out step's outputs, as a KFP server runs it: the two steps as a per-item
chain inside one ``ParallelFor`` (the server's argo compiler refuses an ``artifactIterator``:
kubeflow/pipelines ``backend/src/v2/compiler/argocompiler/dag.go``, ``DAG``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard._loading import load_ir
from flowyard._params import resolve_params
from flowyard.runs import RunRequest, output_documents
from flowyard_kubeflow import KubeflowBackend
from flowyard_local import LocalBackend

ROOT = Path(__file__).resolve().parents[3]
FANOUT = ROOT / "examples" / "activator_processor" / "fanout.yaml"

CHAIN3 = """\
apiVersion: flowyard/v1
kind: Pipeline
name: chain3
defaults: {image: "img:1"}
parameters:
  xs: {type: list, default: [3, 1, 2]}
steps:
  double:
    for_each: ${{ params.xs }}
    parallelism: 2
    python: {function: "flowyard.testing.functions:double"}
    inputs: {x: "${{ item }}"}
    outputs: {y: {type: integer}}
  again:
    for_each: ${{ steps.double.outputs.y }}
    python: {function: "flowyard.testing.functions:double"}
    inputs: {x: "${{ item }}"}
    outputs: {y: {type: integer}}
  third:
    for_each: ${{ steps.again.outputs.y }}
    python: {function: "flowyard.testing.functions:double"}
    inputs: {x: "${{ item }}"}
    outputs: {y: {type: integer}}
outputs:
  ys: ${{ steps.third.outputs.y }}
"""


def _compiled(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["compile", str(spec), "--backend", "kubeflow", "-O", "default_image=img:1"])
    assert r.exit_code == 0, r.output
    return r.output


def test_the_seed_fan_out_compiles_to_one_parallel_for_without_an_artifact_iterator(tmp_path, monkeypatch) -> None:
    text = _compiled(FANOUT, tmp_path, monkeypatch)
    assert "artifactIterator" not in text
    doc = next(d for d in yaml.safe_load_all(text) if d)
    loops = [n for n, c in doc["components"].items() if n.startswith("comp-for-loop")]
    assert len(loops) == 1, loops
    inner = doc["components"][loops[0]]["dag"]["tasks"]
    assert set(inner) == {"activator", "processor"}
    wire = inner["processor"]["inputs"]["artifacts"]["event"]["taskOutputArtifact"]
    assert wire == {"producerTask": "activator", "outputArtifactKey": "event"}


def test_a_three_step_chain_gives_the_local_backends_values_in_item_order(tmp_path, monkeypatch) -> None:
    spec = tmp_path / "chain3.yaml"
    spec.write_text(CHAIN3, encoding="utf-8")
    doc = next(d for d in yaml.safe_load_all(_compiled(spec, tmp_path, monkeypatch)) if d)
    assert [n for n in doc["components"] if n.startswith("comp-for-loop")] == ["comp-for-loop-1"]
    ir = load_ir(spec)
    results = []
    for backend in (KubeflowBackend(), LocalBackend()):
        request = RunRequest(params=resolve_params(ir, {}), runs_root=tmp_path / "runs")
        st = backend.run(ir, request)
        assert st.state.value == "Succeeded", st.message
        results.append(output_documents(ir, st.outputs))
    assert results[0] == results[1]
    assert results[0]  # not two empty results


UNCHAINABLE = """\
apiVersion: flowyard/v1
kind: Pipeline
name: unchainable
defaults: {image: "img:1"}
steps:
  make:
    for_each: [a, b]
    container: {command: [sh, -c, "echo ${{ item }} > out.txt"]}
    outputs: {f: out.txt}
  use:
    for_each: ${{ steps.make.outputs.f }}
    container: {command: [cat, "${{ inputs.one.path }}", "${{ inputs.all.path }}"]}
    inputs:
      one: {value: "${{ item }}", type: file}
      all: {value: "${{ steps.make.outputs.f }}", type: file}
"""


def test_a_fan_out_over_files_that_cannot_be_chained_is_refused_by_name(tmp_path, monkeypatch) -> None:
    spec = tmp_path / "unchainable.yaml"
    spec.write_text(UNCHAINABLE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["compile", str(spec), "--backend", "kubeflow"])
    assert r.exit_code == 2, r.output
    assert "fan-out-over-fanned-out-files" in r.output and "Traceback" not in r.output
