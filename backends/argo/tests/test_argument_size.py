"""A parameter over 131,072 bytes: refused by name only where a pod would hold it as one argv or environment string.

Linux's ``MAX_ARG_STRLEN`` (131,072 bytes for one string of ``execve(2)``) keeps a pod from starting when its
container's command or environment holds such a value; Argo itself takes larger parameter values (the workflow object
is capped at ~1 MiB as a whole). A fan-out reads its list from a file and a Python-function step its values, so a
larger parameter reaches them as locally; a container's command is refused before anything runs, to compile, submit
or run, as it is named here.
"""

from __future__ import annotations

import json
from pathlib import Path

from flowyard.testing.cli import user_cli

from .argo_server_standin import argo_server

BIG = 140_000
FAN_OUT = """\
apiVersion: flowyard/v1
kind: Pipeline
name: big-list
parameters:
  xs: {type: list, default: DEFAULT}
defaults:
  image: python:3.12-alpine
steps:
  each:
    for_each: ${{ params.xs }}
    container:
      command: [python, -c, "pass"]
"""
IN_COMMAND = """\
apiVersion: flowyard/v1
kind: Pipeline
name: big-arg
parameters:
  s: {type: string}
defaults:
  image: python:3.12-alpine
steps:
  show:
    container:
      command: [python, -c, "import sys; print(len(sys.argv[1]))", "${{ inputs.s }}"]
    inputs:
      s: "<${{ params.s }}>"
"""


def test_a_large_default_that_only_a_fan_out_reads_compiles(tmp_path: Path) -> None:
    default = json.dumps(["x" * 50_000] * 3)
    (tmp_path / "p.yaml").write_text(FAN_OUT.replace("DEFAULT", default), encoding="utf-8")
    done = user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_large_value_that_only_a_fan_out_reads_is_submitted(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(FAN_OUT.replace("DEFAULT", "[]"), encoding="utf-8")
    (tmp_path / "params.json").write_text(json.dumps({"xs": ["x" * 50_000] * 3}), encoding="utf-8")
    with argo_server() as (url, state):
        done = user_cli("submit", "p.yaml", "-b", "argo", "--server", url, "--params-file", "params.json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert state.requests


def test_a_large_value_in_a_containers_command_is_refused_by_name_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(IN_COMMAND, encoding="utf-8")
    (tmp_path / "params.json").write_text(json.dumps({"s": "x" * BIG}), encoding="utf-8")
    done = user_cli("run", "p.yaml", "--backend", "argo", "--params-file", "params.json", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "parameter 's'" in done.stderr and "step 'show'" in done.stderr and "MAX_ARG_STRLEN" in done.stderr
    assert not (tmp_path / ".flowyard" / "runs").exists() or not any((tmp_path / ".flowyard" / "runs").iterdir())
