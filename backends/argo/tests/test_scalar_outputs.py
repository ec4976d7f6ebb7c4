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
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from flowyard import value_matches
from flowyard.templates import render_value
from flowyard.testing.cli import one_line_error, user_cli
from flowyard_argo.executor.leaf import _trim_newline
from flowyard_argo.executor.versions import ARGO_VERSIONS
from flowyard_argo.scalar_checks import SCRIPT

from .conftest import needs_pods

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


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_the_producer_of_a_value_of_the_wrong_type_is_the_failed_step_as_locally(tmp_path: Path, version: str) -> None:
    """The check task is flowyard's, not the user's: its failure is the producer's, as a local run reports it."""
    (tmp_path / "p.yaml").write_text(wrong('\\"abc\\"'), encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    producer = [t for t in local["tasks"] if t["status"] == "Failed"]
    assert [t["step"] for t in producer] == ["make"]
    failed = [t for t in argo["tasks"] if t["step"] == "make"]
    assert [t["status"] for t in failed] == ["Failed"]
    assert "output 'n' should be of type number, got abc" in failed[0]["message"]


TEXTS = [
    "2.50\n",
    " 3",
    "true",
    "1E2",
    "-0.0",
    "3.0",
    "1e400",
    "NaN",
    "12345678901234567890",
    "false\n\n",
    '"3"',
    "null",
]


@pytest.mark.parametrize("kind", ["number", "integer", "bool"])
@pytest.mark.parametrize("text", TEXTS)
def test_the_check_passes_and_renders_by_the_local_rules(tmp_path: Path, kind: str, text: str) -> None:
    """The check task's script, run for real on what Argo would hand it (the file less one newline), against
    core's ``value_matches`` and ``render_value``, which the local run applies to the same file."""
    saved = _trim_newline(text)
    spec = json.dumps([["out", kind, "out.txt"]])
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "values"), spec, saved], capture_output=True, text=True
    )
    value = json.loads(text)
    if value_matches(kind, value):
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "values" / "v0").read_bytes() == render_value(value).encode()
    else:
        assert done.returncode == 1
        assert done.stderr.strip() == f"output 'out' should be of type {kind}, got {render_value(value)[:80]}"


def test_the_check_names_a_value_that_is_not_json(tmp_path: Path) -> None:
    spec = json.dumps([["a", "integer", "a.txt"], ["n", "number", "n.txt"]])
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), spec, "1", "abc"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "value output 'n' in n.txt is not JSON: Expecting value: line 1 column 1 (char 0)"


def compiled(tmp_path: Path, text: str) -> dict:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    done = user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))


def task_names(doc: dict) -> list[str]:
    main = next(t for t in doc["spec"]["templates"] if t["name"] == "main")
    return [t["name"] for t in main["dag"]["tasks"]]


def test_no_check_task_where_no_container_or_when_reads_the_value(tmp_path: Path) -> None:
    """A pipeline output and a Python consumer (its entrypoint parses the text) need no pod more."""
    python_reader = SCALARS.replace('    when: "${{ steps.make.outputs.e }} > 50"\n', "").replace(
        f'    container:\n      command: [python, -c, "{SHOW}", "${{{{ inputs.n }}}}", "${{{{ inputs.b }}}}", '
        '"${{ inputs.e }}"]\n    env:\n      K: "${{ inputs.k }}"\n',
        "    python: {function: flowyard.testing.functions:emit}\n",
    )
    assert "python:" in python_reader and "when" not in python_reader
    assert task_names(compiled(tmp_path, python_reader)) == ["make", "show"]
    assert task_names(compiled(tmp_path, SCALARS)) == ["make", "make-values", "show"]


def test_a_step_named_like_a_check_task_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SCALARS.replace("  show:\n", "  make-values:\n"), encoding="utf-8")
    done = user_cli("compile", "p.yaml", "--backend", "argo", cwd=tmp_path)
    assert "argo-reserved-name" in one_line_error(done, 2)


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_a_wrong_value_under_continue_fails_the_run_and_lets_the_others_finish(tmp_path: Path, version: str) -> None:
    """``failure_policy: continue`` on the producer: locally it fails, its reader is Omitted, a sibling still runs and
    the run ends Failed; on Argo its check task fails (every task is a target then: the run fails too)."""
    text = wrong('\\"abc\\"').replace("  make:\n", "  make:\n    failure_policy: continue\n")
    text = text.replace("outputs:\n  n:", "  other:\n    container:\n      command: [python, -c, pass]\noutputs:\n  n:")
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*run, cwd=tmp_path).stdout)
    assert argo["status"] == local["status"] == "Failed"
    assert {t["step"]: t["status"] for t in local["tasks"]} == {
        "make": "Failed",
        "show": "Omitted",
        "other": "Succeeded",
    }
    assert {t["step"]: t["status"] for t in argo["tasks"]}.get("other") == "Succeeded"
    assert {t["step"]: t["status"] for t in argo["tasks"]}.get("show") in (None, "Omitted")  # never started
    assert "output 'n' should be of type number, got abc" in argo["message"]


def test_a_failed_check_on_a_server_is_its_producers_failure() -> None:
    """The node status an Argo Server reports (``service.run_status``): the check task's pod failed, the producer's
    pod succeeded, its reader was Omitted; the report names the producer as the failed step, with the message."""
    from flowyard._lowering import lower
    from flowyard.spec import Container, Input, Output, Pipeline, Step
    from flowyard_argo.backend import _step_names
    from flowyard_argo.service import run_status

    ir = lower(
        Pipeline(
            name="p",
            steps={
                "make": Step(
                    container=Container(command=["make"], image="alpine:3"),
                    outputs={"n": Output(type="number", path="n.txt")},
                ),
                "show": Step(
                    container=Container(command=["show", "${{ inputs.n }}"], image="alpine:3"),
                    inputs={"n": Input(value="${{ steps.make.outputs.n }}")},
                ),
            },
        )
    )

    def node(display: str, template: str, phase: str, message: str = "", type_: str = "Pod") -> dict[str, str]:
        return {"displayName": display, "templateName": template, "type": type_, "phase": phase, "message": message}

    says = "output 'n' should be of type number, got abc"
    nodes = {
        "wf": node("wf", "main", "Failed", type_="DAG"),
        "wf-1": node("make", "make", "Succeeded"),
        "wf-2": node("make-values", "flowyard-values-1", "Failed", says),
        "wf-3": node("show", "show", "Omitted", type_="Skipped"),
    }
    wf = {"metadata": {"name": "wf"}, "status": {"phase": "Failed", "nodes": nodes}}
    st = run_status(wf, "p", _step_names(ir), "http://x")
    assert [(t.step, t.state.value, t.message) for t in st.tasks] == [
        ("make", "Failed", says),
        ("show", "Omitted", ""),
    ]
