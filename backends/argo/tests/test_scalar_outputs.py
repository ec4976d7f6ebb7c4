"""A container step's number, integer and bool outputs reach the next container and ``when`` as locally (issue 15,
divergence 10).

Locally the output file is read as JSON, checked against its declared type and passed on as compact JSON
(``render_value``): ``2.50`` arrives as ``2.5``, `` 3`` as ``3``, ``1E2`` as ``100.0``, and a value of the wrong type
fails the producer. Argo's wait container saves the file's text less one trailing newline
(``workflow/executor/executor.go`` ``SaveParameters``, v3.6.19, v3.7.9, v4.1.2), unchecked. Executed through the
executor, next to the local run, from a fresh folder through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowyard.testing.cli import user_cli
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.versions import ARGO_VERSIONS

needs_pods = pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")

WRITE = (
    "open('n.txt', 'w').write('2.50\\\\n'); open('k.txt', 'w').write(' 3'); open('b.txt', 'w').write('true'); "
    "open('e.txt', 'w').write('1E2')"
)
SHOW = "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['K']]))"

SCALARS = f"""\
apiVersion: flowyard/v1
kind: Pipeline
name: scalars
defaults:
  image: python:3.12-alpine
steps:
  make:
    container:
      command: [python, -c, "{WRITE}"]
    outputs:
      n: {{type: number, path: n.txt}}
      k: {{type: integer, path: k.txt}}
      b: {{type: bool, path: b.txt}}
      e: {{type: number, path: e.txt}}
  show:
    when: "${{{{ steps.make.outputs.e }}}} > 50"
    container:
      command: [python, -c, "{SHOW}", "${{{{ inputs.n }}}}", "${{{{ inputs.b }}}}", "${{{{ inputs.e }}}}"]
    env:
      K: "${{{{ inputs.k }}}}"
    inputs:
      n: ${{{{ steps.make.outputs.n }}}}
      k: ${{{{ steps.make.outputs.k }}}}
      b: ${{{{ steps.make.outputs.b }}}}
      e: ${{{{ steps.make.outputs.e }}}}
outputs:
  n: ${{{{ steps.make.outputs.n }}}}
"""


def printed(run: dict, pattern: str) -> bytes:
    found = sorted(Path(run["location"]).glob(pattern))
    assert found, f"no {pattern} in {run['location']}"
    return found[0].read_bytes()


@needs_pods
@pytest.mark.xfail(strict=True, reason="issue 15, divergence 10: Argo hands on the file's text unchecked")
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_a_containers_scalar_outputs_reach_the_next_container_as_locally(tmp_path: Path, version: str) -> None:
    (tmp_path / "p.yaml").write_text(SCALARS, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    assert local["status"] == "Succeeded", local["message"]
    shown = printed(local, "tasks/show*/**/stdout*")
    assert json.loads(shown) == [["2.5", "true", "100.0"], "3"]
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    assert argo["status"] == "Succeeded", argo["message"]
    assert printed(argo, "pods/*-show-*/stdout.log") == shown
    assert argo["outputs"] == local["outputs"] == {"n": 2.5}


def wrong(text: str) -> str:
    body = SCALARS.replace("open('n.txt', 'w').write('2.50\\\\n')", f"open('n.txt', 'w').write('{text}')")
    assert body != SCALARS
    return body


@needs_pods
@pytest.mark.xfail(strict=True, reason="issue 15, divergence 10: Argo passes a value of the wrong type on")
@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param('\\"abc\\"', "output 'n' should be of type number, got abc", id="a-string"),
        pytest.param("abc", "n.txt is not JSON: Expecting value", id="not-json"),
    ],
)
def test_a_containers_output_of_the_wrong_type_fails_the_run_as_locally(
    tmp_path: Path, version: str, text: str, says: str
) -> None:
    (tmp_path / "p.yaml").write_text(wrong(text), encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    assert local["status"] == "Failed"
    assert says in local["message"]
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    assert argo["status"] == "Failed"
    assert says in argo["message"]
    assert not list(Path(argo["location"]).glob("pods/*-show-*"))  # the consumer never started
