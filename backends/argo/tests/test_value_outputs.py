"""A Python-function step's value output reaches the next step byte for byte on Argo (issue 15, divergence 10).

Argo's wait container saves an output parameter as the file's text less one trailing newline
(``workflow/executor/executor.go`` ``SaveParameters``, ``strings.TrimSuffix(..., "\\n")``, v3.6.19, v3.7.9 and
v4.1.2; the executor's ``leaf.py`` does the same). The file is written by flowyard's step entrypoint as the compiled
manifest runs it (``python -m flowyard.step exec ... --values-dir``), run here for real; what the parameter then
holds must be what the local run passes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flowyard.step import decode_collected
from flowyard.templates import render_value
from flowyard.testing.cli import one_line_error, user_cli
from flowyard_argo.executor.leaf import _trim_newline
from flowyard_argo.executor.pods import namespaces_available

F = "flowyard.testing.functions"


def saved_parameter(tmp_path: Path, value: str, index: int | None = None) -> str:
    """What Argo's output parameter holds after the compiled entrypoint returned ``value`` (a string)."""
    values = tmp_path / "values"
    argv = [sys.executable, "-m", "flowyard.step", "exec", "--kind", "python", "--function", f"{F}:emit"]
    argv += ["--workdir", str(tmp_path / "work"), "--value", "value", "string", "rendered", value]
    argv += ["--output", "out", "string", str(values / "out"), "--values-dir", str(values)]
    argv += ["--index", str(index)] if index is not None else []
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return _trim_newline((values / "out").read_bytes().decode())  # SaveParameters reads the bytes: \r\n stays


@pytest.mark.parametrize("value", ["two lines\n", "é 🎉\r\n\n", "x"])
def test_a_string_output_keeps_its_trailing_newlines(tmp_path: Path, value: str) -> None:
    assert saved_parameter(tmp_path, value) == render_value(value)


@pytest.mark.parametrize("value", ["two lines\n"])
def test_a_fanned_out_items_value_keeps_its_trailing_newlines(tmp_path: Path, value: str) -> None:
    """The aggregate's envelopes are JSON: a newline in the value is escaped, never trimmed."""
    assert decode_collected(f"[{saved_parameter(tmp_path, value, index=0)}]", 1) == [value]


OBJECT_BETWEEN_CONTAINERS = """\
apiVersion: flowyard/v1
kind: Pipeline
name: obj
defaults:
  image: python:3.12-alpine
steps:
  make:
    container:
      command: [python, -c, "import json; open('o.json', 'w').write(json.dumps(dict(b=1, a=[1, 2.5]), indent=1))"]
    outputs:
      o: {type: object, path: o.json}
  show:
    container:
      command: [python, -c, "import json, sys; print(json.dumps(sys.argv[1:]))", "${{ inputs.v }}"]
    inputs:
      v: ${{ steps.make.outputs.o }}
"""


@pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")
def test_a_containers_object_output_reaches_a_command_as_locally_or_is_refused(tmp_path: Path) -> None:
    """Locally the file is decoded and the next command gets compact JSON with sorted keys; Argo hands on the
    file's text (less one newline), as the command wrote it."""
    (tmp_path / "p.yaml").write_text(OBJECT_BETWEEN_CONTAINERS, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    shown = next(Path(local["location"]).glob("tasks/show*/**/stdout*"), None)
    assert shown is not None and json.loads(shown.read_text()) == ['{"a":[1,2.5],"b":1}']
    compiled = user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=tmp_path)
    if compiled.returncode != 0:
        assert "container-object-value-output" in one_line_error(compiled, 2)
        return
    argo = json.loads(user_cli("run", "wf.yaml", "--backend", "argo", "--json", cwd=tmp_path).stdout)
    pod = next(Path(argo["location"]).glob("pods/*-show-*/stdout.log"))
    assert json.loads(pod.read_text()) == json.loads(shown.read_text())
