"""A large fan-in reaches its Python consumer on Argo (issue 15, divergence 9).

Linux refuses to start a process with one argv string over 131,072 bytes (``MAX_ARG_STRLEN``: ``E2BIG``); the
aggregate of ~5,000 fanned-out values is larger. The compiled ``total`` step of the fan-in-values pipeline is started
here for real, as the controller would start it: its input parameters substituted into the container's argv and into
any ``raw`` input artifact, which argoexec's init container writes to its path (``workflow/executor/executor.go``
``LoadArtifacts``; the template itself goes to a ConfigMap when over ``MaxEnvVarLen``, ``workflowpod.go``).
``/flowyard`` is mapped under a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flowyard.step import encode_envelope
from flowyard.testing.cli import user_cli
from flowyard.testing.contract import canonical_ir

from .conftest import manifest, needs_pods, template

COUNT = 5000


def substituted(text: str, params: dict[str, str], root: Path) -> str:
    for name, value in params.items():
        text = text.replace(f"{{{{inputs.parameters.{name}}}}}", value)
    return text.replace("/flowyard/", f"{root}/flowyard/")


def start_as_argo_would(tpl: dict[str, Any], params: dict[str, str], root: Path) -> subprocess.CompletedProcess[str]:
    for art in (tpl.get("inputs") or {}).get("artifacts") or []:
        if "raw" in art:
            path = Path(substituted(art["path"], params, root))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(substituted(art["raw"]["data"], params, root), encoding="utf-8")
    container = tpl["container"]
    argv = [substituted(a, params, root) for a in [*container["command"], *container.get("args", [])]]
    argv[0] = sys.executable  # the image's python3: flowyard-core is installed here
    (root / "flowyard" / "work").mkdir(parents=True, exist_ok=True)
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_a_fan_in_of_5000_values_reaches_its_python_consumer(tmp_path: Path) -> None:
    doc = manifest(canonical_ir("fan-in-values"))
    total = template(doc, "total")
    values = [i + 0.5 for i in range(COUNT)]
    aggregate = json.dumps([encode_envelope(i, v) for i, v in reversed(list(enumerate(values)))])
    assert len(aggregate.encode()) > 131072
    done = start_as_argo_would(total, {"xs": aggregate, "flowyard-count-xs": str(COUNT)}, tmp_path)
    assert done.returncode == 0, done.stderr[-500:]
    assert json.loads((tmp_path / "flowyard" / "values" / "out").read_text()) == sum(values)


LARGE_LIST = """\
apiVersion: flowyard/v1
kind: Pipeline
name: large
defaults:
  image: python:3.12-alpine
steps:
  make:
    container:
      command: [python, -c, "import json; open('o.json', 'w').write(json.dumps(['x' * 60000] * 3))"]
    outputs:
      xs: {type: list, path: o.json}
  each:
    for_each: ${{ steps.make.outputs.xs }}
    container:
      command: [python, -c, "pass"]
"""


@needs_pods
def test_a_fan_out_over_a_list_output_over_the_argv_limit_runs_as_locally(tmp_path: Path) -> None:
    """The item helper got the upstream list as one argv string: the pod could not start (E2BIG)."""
    (tmp_path / "p.yaml").write_text(LARGE_LIST, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    assert user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=tmp_path).returncode == 0
    argo = json.loads(user_cli("run", "wf.yaml", "--backend", "argo", "--json", cwd=tmp_path).stdout)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert sorted(t["item"] for t in argo["tasks"] if t["step"] == "each") == [0, 1, 2]


LARGE_INPUT = """\
apiVersion: flowyard/v1
kind: Pipeline
name: large-input
steps:
  make:
    container:
      image: python:3.12-alpine
      command: [python, -c, "import json; open('o.json', 'w').write(json.dumps([0.5] * 40000))"]
    outputs:
      xs: {type: list, path: o.json}
  total:
    python: {function: "flowyard.testing.functions:total", image: "registry.example/flowyard-step:0.1"}
    inputs:
      xs: ${{ steps.make.outputs.xs }}
    outputs:
      out: {type: number}
outputs:
  total: ${{ steps.total.outputs.out }}
"""


@needs_pods
def test_a_list_output_over_the_argv_limit_reaches_a_python_step_as_locally(tmp_path: Path) -> None:
    """A list output of ~200 KB read by a Python-function step: as one argv string the pod could not start (E2BIG)."""
    from flowyard_argo.executor.images import host_python_entry

    (tmp_path / "p.yaml").write_text(LARGE_INPUT, encoding="utf-8")
    (tmp_path / "images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", "image_map=images.yaml", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path, timeout=90).stdout)  # the executor waited forever (E2BIG)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert argo["outputs"] == local["outputs"] == {"total": 20000.0}


LARGE_PARAM = """\
apiVersion: flowyard/v1
kind: Pipeline
name: large-param
parameters:
  xs: {type: list}
defaults:
  image: python:3.12-alpine
steps:
  each:
    for_each: ${{ params.xs }}
    container:
      command: [python, -c, "pass"]
"""


@needs_pods
def test_a_fan_out_over_a_list_parameter_over_the_argv_limit_runs_as_locally(tmp_path: Path) -> None:
    """The item helper got the parameter's value as one argv string: its pod could not start (E2BIG)."""
    (tmp_path / "p.yaml").write_text(LARGE_PARAM, encoding="utf-8")
    (tmp_path / "params.json").write_text(json.dumps({"xs": ["x" * 60000] * 3}), encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--params-file", "params.json", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "--params-file", "params.json", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path, timeout=90).stdout)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert sorted(t["item"] for t in argo["tasks"] if t["step"] == "each") == [0, 1, 2]


LARGE_AGGREGATE = """\
apiVersion: flowyard/v1
kind: Pipeline
name: large-aggregate
parameters:
  xs: {type: list}
steps:
  make:
    for_each: ${{ params.xs }}
    python: {function: "flowyard.testing.functions:emit", image: "registry.example/flowyard-step:0.1"}
    inputs:
      value: ${{ item }}
    outputs:
      out: {type: string}
  each:
    for_each: ${{ steps.make.outputs.out }}
    container:
      image: python:3.12-alpine
      command: [python, -c, "pass"]
"""


@needs_pods
def test_a_fan_out_over_a_fan_outs_values_over_the_argv_limit_runs_as_locally(tmp_path: Path) -> None:
    """The item helper got the upstream loop's aggregate as one argv string: its pod could not start (E2BIG)."""
    from flowyard_argo.executor.images import host_python_entry

    (tmp_path / "p.yaml").write_text(LARGE_AGGREGATE, encoding="utf-8")
    (tmp_path / "params.json").write_text(json.dumps({"xs": ["x" * 60000] * 3}), encoding="utf-8")
    (tmp_path / "images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--params-file", "params.json", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", "image_map=images.yaml", "--params-file", "params.json"]
    argo = json.loads(user_cli(*run, "--json", cwd=tmp_path, timeout=90).stdout)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert sorted(t["item"] for t in argo["tasks"] if t["step"] == "each") == [0, 1, 2]


@needs_pods
def test_a_fan_out_over_a_literal_list_over_the_argv_limit_runs_as_locally(tmp_path: Path) -> None:
    """The item helper got the literal list as one argv string: its pod could not start (E2BIG)."""
    literal = json.dumps(["x" * 60000] * 3)
    text = LARGE_PARAM.replace("parameters:\n  xs: {type: list}\n", "").replace("${{ params.xs }}", literal)
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", "--json", cwd=tmp_path, timeout=90).stdout)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert sorted(t["item"] for t in argo["tasks"] if t["step"] == "each") == [0, 1, 2]


LARGE_STRING_PARAM = """\
apiVersion: flowyard/v1
kind: Pipeline
name: large-string
parameters:
  s: {type: string}
steps:
  whole:
    python: {function: "flowyard.testing.functions:emit", image: "registry.example/flowyard-step:0.1"}
    inputs:
      value: ${{ params.s }}
    outputs:
      out: {type: string}
  within:
    python: {function: "flowyard.testing.functions:emit", image: "registry.example/flowyard-step:0.1"}
    inputs:
      value: "<${{ params.s }}>"
    outputs:
      out: {type: string}
outputs:
  whole: ${{ steps.whole.outputs.out }}
  within: ${{ steps.within.outputs.out }}
"""


@needs_pods
def test_a_parameter_over_the_argv_limit_reaches_a_python_step_as_locally(tmp_path: Path) -> None:
    """A 200,000-character string parameter, whole and inside a template, read by Python-function steps: locally
    the function gets it; on Argo it was one argv string of the step's command, so the pod could not start."""
    from flowyard_argo.executor.images import host_python_entry

    (tmp_path / "p.yaml").write_text(LARGE_STRING_PARAM, encoding="utf-8")
    (tmp_path / "params.json").write_text(json.dumps({"s": "x" * 200_000}), encoding="utf-8")
    (tmp_path / "images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--params-file", "params.json", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", "image_map=images.yaml", "--params-file", "params.json"]
    argo = json.loads(user_cli(*run, "--json", cwd=tmp_path, timeout=90).stdout)
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert argo["outputs"] == local["outputs"] == {"whole": "x" * 200_000, "within": "<" + "x" * 200_000 + ">"}
