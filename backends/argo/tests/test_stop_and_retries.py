"""``retries`` under ``failure_policy: stop`` as the local run does them: every attempt is made, and a step that
succeeds on a retry lets the run go on (docs/spec.md).

The compiler sets the template-level ``failFast`` on every DAG that stops after a failure (``main``, a part of a split
pipeline, a loop wrapper). ``operator.go`` ``checkParallelism`` then counts every failed Pod node whose boundary is
that DAG (``node_counters.go`` ``getUnsuccessfulChildren``), a retried task's failed attempt included: the DAG would
start nothing more, not even the retry, and fail (argo-workflows 5398). Proven by running the compiled manifest
through the executor, which counts as the controller does (``executor/test_fail_fast_counts.py``), in a fresh
folder with nothing configured, next to the local run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowyard.testing.cli import one_line_error, user_cli
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.versions import ARGO_VERSIONS
from flowyard_argo.service import run_status

from .conftest import served_workflow

pytestmark = pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")

HEAD = """\
apiVersion: flowyard/v1
kind: Pipeline
name: retried
defaults:
  image: python:3.12-alpine
steps:
"""
FAILS = "[python, -c, 'import sys; raise SystemExit(int(sys.argv[1]))', '${{ item }}']"
RETRIED = {  # a step failing on every attempt: alone, fanned out, fanned out under a parallelism (a loop wrapper)
    "single": "  s:\n    retries: {limit: 2, backoff: {duration: 0.1s, factor: 1}}\n"
    "    container: {command: [python, -c, 'raise SystemExit(3)']}\n",
    "items": f"  s:\n    for_each: [0, 1]\n    retries: {{limit: 2, backoff: {{duration: 0.1s, factor: 1}}}}\n"
    f"    container: {{command: {FAILS}}}\n",
    "wrapped": f"  s:\n    for_each: [0, 1]\n    parallelism: 1\n    retries: {{limit: 2, backoff: {{duration: 0.1s}}}}\n"
    f"    container: {{command: {FAILS}}}\n",
}
AFTER = "  after:\n    after: [s]\n    container: {command: [python, -c, pass]}\n"


def attempts(run: dict) -> dict[str, tuple[str, int]]:
    return {
        t["step"] + ("" if t["item"] is None else f"[{t['item']}]"): (t["status"], t["attempts"]) for t in run["tasks"]
    }


@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize("construct", sorted(RETRIED))
def test_every_attempt_of_a_retried_step_is_made_as_locally(tmp_path: Path, construct: str, version: str) -> None:
    tmp_path.joinpath("p.yaml").write_text(HEAD + RETRIED[construct] + AFTER, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    options = ["-O", f"argo_version={version}"]
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", *options, "--json", cwd=tmp_path).stdout)
    made = attempts(local)
    assert made["s" if construct == "single" else "s[1]"] == ("Failed", 3)
    assert made["after"] == ("Omitted", 0)
    assert attempts(argo) == made
    assert argo["status"] == local["status"] == "Failed"
    # and as a server's status says it (submit --watch, status): each attempt's pod of the step, at its item
    workflow = served_workflow(Path(argo["location"]))
    for node in [workflow["status"], *workflow["status"]["nodes"].values()]:  # the executor writes epoch seconds
        node.pop("startedAt", None), node.pop("finishedAt", None)
    served = run_status(workflow, "retried", {"s": "s", "after": "after"}, "")
    assert {(t.step, t.item): t.state.value for t in served.tasks} == {
        (t["step"], t["item"]): t["status"] for t in local["tasks"]
    }


OUTPUTS = """\
apiVersion: flowyard/v1
kind: Pipeline
name: retried-outputs
defaults:
  image: registry.example/flowyard-step:0.1
steps:
  s:
    for_each: [4, 5]
    retries: 1
    python: {function: "flowyard.testing.functions:double"}
    inputs: {x: "${{ item }}"}
    outputs: {out: {type: number}}
  f:
    retries: 1
    python: {function: "flowyard.testing.functions:write_json"}
    inputs: {value: [1, "a"]}
    outputs: {out: {type: file, path: x.json}}
  reads:
    retries: 1
    inputs: {src: "${{ steps.f.outputs.out }}"}
    python: {function: "flowyard.testing.functions:read_json"}
    outputs: {out: {type: any}}
outputs:
  doubled: "${{ steps.s.outputs.out }}"
  read: "${{ steps.reads.outputs.out }}"
"""


def test_a_retried_steps_outputs_reach_its_readers_and_the_run_as_locally(tmp_path: Path) -> None:
    """The step's own DAG hands its container's value and file outputs on (``valueFrom.parameter``, ``from``)."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(OUTPUTS, encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    options = ["-O", "image_map=images.yaml"]
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", *options, "--json", cwd=tmp_path).stdout)
    assert local["outputs"] == {"doubled": [8, 10], "read": [1, "a"]}
    assert argo["outputs"] == local["outputs"]
    assert attempts(argo) == attempts(local)


def retried_chain(retried: int, plain: int) -> str:
    steps = [f"  r{i}:\n    retries: 1\n    container: {{command: [python, -c, pass]}}\n" for i in range(retried)]
    steps += [f"  p{i}:\n    container: {{command: [python, -c, pass]}}\n" for i in range(plain)]
    return HEAD + "".join(steps)


FANNED_OUT = HEAD + (
    "  u:\n    for_each: [1, 2]\n    container: {command: [sh, -c, 'echo 1 > o.txt']}\n"
    "    outputs: {out: {type: file, path: o.txt}}\n"
    "  s:\n    for_each: [4, 5]\n    retries: 1\n    container: {command: [python, -c, pass, '${{ item }}']}\n"
    "  t:\n    for_each: '${{ steps.u.outputs.out }}'\n    parallelism: 1\n    retries: 1\n"
    "    inputs: {src: '${{ item }}'}\n    container: {command: [sh, -c, 'cat $0', '${{ inputs.src.path }}']}\n"
)


def test_a_retried_fan_out_reads_back_as_the_pipeline_it_was_compiled_from(tmp_path: Path) -> None:
    """The contract kit's structural summary sees through a retried step's own DAG to its loop and container."""
    from flowyard._loading import load_ir
    from flowyard.summary import summarize_ir
    from flowyard_argo import ArgoBackend

    (tmp_path / "p.yaml").write_text(FANNED_OUT, encoding="utf-8")
    ir = load_ir(tmp_path / "p.yaml")
    backend = ArgoBackend({})
    assert backend.summarize(backend.compile(ir)) == summarize_ir(ir)


def test_a_pipeline_of_retried_and_plain_steps_over_v4s_template_cap_compiles_and_reads_back(tmp_path: Path) -> None:
    """150 retried steps (a DAG and a container each) and 100 plain ones: over v4's 200 templates, the containers
    are written inline (the attempts' in their step's DAG) until it fits, reads back as the pipeline, and runs."""
    from flowyard._loading import load_ir
    from flowyard.summary import summarize_ir
    from flowyard_argo import ArgoBackend

    (tmp_path / "p.yaml").write_text(retried_chain(150, 100), encoding="utf-8")
    ir = load_ir(tmp_path / "p.yaml")
    backend = ArgoBackend({"argo_version": "4.1.2"})
    compiled = backend.compile(ir)
    assert compiled.metadata["objects"]["templates"] <= 200
    assert backend.summarize(compiled) == summarize_ir(ir)
    ran = json.loads(
        user_cli("run", "p.yaml", "--backend", "argo", "-O", "argo_version=4.1.2", "--json", cwd=tmp_path).stdout
    )
    assert ran["status"] == "Succeeded" and len(ran["tasks"]) == 250  # executed by the controller's rules, as written


def test_too_many_retried_steps_for_v4s_template_cap_are_refused_naming_the_cause(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(retried_chain(205, 0), encoding="utf-8")
    result = user_cli("compile", "p.yaml", "--backend", "argo", "-O", "argo_version=4.1.2", cwd=tmp_path)
    error = one_line_error(result, 2)
    assert "at most 200" in error and "205 retried steps" in error and "failure_policy" in error


STEP_NAMED_LIKE_ATTEMPTS = HEAD + (
    '  a:\n    container: {command: [python, -c, \'open("v.txt","w").write("1")\']}\n'
    "    outputs: {out: {type: integer, path: v.txt}}\n"
    '  a-attempts:\n    after: [a]\n    container: {command: [python, -c, \'open("v.txt","w").write("2")\']}\n'
    "    outputs: {out: {type: integer, path: v.txt}}\n"
    "outputs:\n  from_a: '${{ steps.a.outputs.out }}'\n"
)


def test_a_step_named_like_another_steps_attempts_gives_the_run_its_own_outputs(tmp_path: Path) -> None:
    tmp_path.joinpath("p.yaml").write_text(STEP_NAMED_LIKE_ATTEMPTS, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", "--json", cwd=tmp_path).stdout)
    assert local["outputs"] == {"from_a": 1}
    assert argo["outputs"] == local["outputs"]


def test_a_manifest_over_the_cap_for_other_reasons_is_not_blamed_on_its_retried_steps(tmp_path: Path) -> None:
    """205 loop wrappers (fan-outs with their own parallelism: DAG templates, never inline) and one retried step:
    the wrappers are what is over the cap, so pre-flight's words stand."""
    loops = [
        f"  f{i}:\n    for_each: [1, 2]\n    parallelism: 1\n    container: {{command: [python, -c, pass]}}\n"
        for i in range(205)
    ]
    (tmp_path / "p.yaml").write_text(retried_chain(1, 0) + "".join(loops), encoding="utf-8")
    result = user_cli("compile", "p.yaml", "--backend", "argo", "-O", "argo_version=4.1.2", cwd=tmp_path)
    error = one_line_error(result, 2)
    assert "must have at most 200 items" in error and "retried" not in error
