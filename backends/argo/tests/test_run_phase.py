"""The workflow's phase and ``${{ run.status }}`` as the local run reports them (issue 15, divergences 10 and the
rest of 2), proven by running the compiled manifest through the executor (``flowyard run MANIFEST --backend argo``)
in a fresh folder with nothing configured, next to ``flowyard run PIPELINE`` on the local backend.

``dag.go`` ``assessDAGPhase`` decides a DAG's phase from its target tasks only (its leaves when ``dag.target`` is
not set): a failed step whose dependents still run under ``failure_policy: continue`` would leave the workflow
``Succeeded``, where the local run is ``Failed``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flowyard.testing.cli import one_line_error, user_cli
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.versions import ARGO_VERSIONS
from flowyard_argo.service import run_status, task_nodes

from .conftest import served_workflow

pytestmark = pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")

CONTINUING = """\
apiVersion: flowyard/v1
kind: Pipeline
name: cont
failure_policy: continue
defaults:
  image: python:3.12-alpine
steps:
  bad:
    container:
      command: [python, -c, "raise SystemExit(1)"]
  after:
    after: [bad]
    container:
      command: [python, -c, "print('after')"]
on_exit:
  container:
    command: [python, -c, "import sys; print(sys.argv[1])", "${{ run.status }}"]
"""

WRAPPED_LOOP = """\
apiVersion: flowyard/v1
kind: Pipeline
name: wrapped
failure_policy: continue
defaults:
  image: python:3.12-alpine
steps:
  items:
    for_each: [0, 1, 2]
    parallelism: 2
    container:
      command: [python, -c, "raise SystemExit(1)"]
on_exit:
  container:
    command: [python, -c, "import sys; print(sys.argv[1])", "${{ run.status }}"]
"""

ERRORED = """\
apiVersion: flowyard/v1
kind: Pipeline
name: err
defaults:
  image: python:3.12-alpine
steps:
  bad:
    container:
      command: [python, -c, "pass"]
    outputs:
      o: {type: integer, path: o.json}
on_exit:
  container:
    command: [python, -c, "import sys; print(sys.argv[1])", "status=${{ run.status }}"]
"""


def run_both(spec: str, folder: Path, version: str) -> tuple[dict, dict, str]:
    """The local run's JSON, the executed manifest's JSON, and what its on-exit pod printed."""
    folder.mkdir()
    (folder / "p.yaml").write_text(spec, encoding="utf-8")
    local = user_cli("run", "p.yaml", "--json", cwd=folder)
    compiled = user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=folder)
    assert compiled.returncode == 0, compiled.stderr
    argo = user_cli("run", "wf.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json", cwd=folder)
    ran = json.loads(argo.stdout)
    exit_logs = list(Path(ran["location"]).glob("pods/*-on-exit-*/stdout.log"))
    return json.loads(local.stdout), ran, exit_logs[0].read_text().strip() if exit_logs else ""


@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_a_failed_non_leaf_step_under_continue_fails_the_run_as_locally(tmp_path: Path, version: str) -> None:
    local, argo, on_exit = run_both(CONTINUING, tmp_path / "run", version)
    assert local["status"] == "Failed"
    tasks = {t["step"]: t["status"] for t in argo["tasks"]}
    nodes = json.loads((Path(argo["location"]) / "workflow.json").read_text())["status"]["nodes"].values()
    assert tasks["bad"] == "Failed" and "after" not in tasks  # no pod: as locally, continue lets other branches run
    assert [n["phase"] for n in nodes if n["displayName"] == "after"] == ["Omitted"]
    assert argo["status"] == local["status"]
    assert on_exit == "Failed"


DEPENDENTS_OF_A_FAILURE = """\
apiVersion: flowyard/v1
kind: Pipeline
name: dependents
failure_policy: continue
defaults:
  image: registry.example/flowyard-step:0.1
steps:
  bad:
    python: {function: "flowyard.testing.functions:fail_on"}
    inputs: {value: 1, bad: 1}
    outputs: {out: {type: string}}
  after-bad:
    after: [bad]
    container:
      command: [python, -c, "print('after')"]
  reads-bad:
    inputs: {v: "${{ steps.bad.outputs.out }}"}
    container:
      command: [python, -c, "import sys; print(sys.argv[1])", "${{ inputs.v }}"]
  items:
    for_each: [0, 1, 2]
    python: {function: "flowyard.testing.functions:fail_on"}
    inputs: {value: "${{ item }}", bad: 1}
    outputs: {out: {type: integer}}
  after-items:
    after: [items]
    container:
      command: [python, -c, "print('after items')"]
  gather:
    inputs: {value: "${{ steps.items.outputs.out }}"}
    python: {function: "flowyard.testing.functions:emit"}
    outputs: {out: {type: list}}
  other:
    python: {function: "flowyard.testing.functions:emit"}
    inputs: {value: fine}
    outputs: {out: {type: string}}
  reads-other:
    inputs: {v: "${{ steps.other.outputs.out }}"}
    container:
      command: [python, -c, "import sys; print(sys.argv[1])", "${{ inputs.v }}"]
outputs:
  gathered: "${{ steps.gather.outputs.out }}"
"""


@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_the_dependents_of_a_failed_step_under_continue_are_omitted_as_locally(tmp_path: Path, version: str) -> None:
    """``continue`` lets the other branches and items finish (docs/spec.md); a step after a failed one, or reading it,
    is Omitted, and a fan-in still gathers what its fan-out's items made (``null`` for a failed item)."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(DEPENDENTS_OF_A_FAILURE, encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    options = ["-O", "image_map=images.yaml", "-O", f"argo_version={version}"]
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", *options, "--json", cwd=tmp_path).stdout)
    expected = {
        "bad": "Failed",
        "after-bad": "Omitted",
        "reads-bad": "Omitted",
        "after-items": "Omitted",
        "gather": "Succeeded",
        "other": "Succeeded",
        "reads-other": "Succeeded",
    }
    assert {t["step"]: t["status"] for t in local["tasks"] if t["step"] in expected} == expected
    assert {t["step"]: t["status"] for t in argo["tasks"] if t["step"] in expected} == expected
    assert argo["status"] == local["status"] == "Failed"
    assert argo["outputs"] == local["outputs"] == {"gathered": [0, None, 2]}


@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_failed_items_of_a_loop_wrapped_for_parallelism_fail_the_run_as_locally(tmp_path: Path, version: str) -> None:
    """The wrapper keeps ``continueOn`` on its loop so that it succeeds and sets its outputs (``assessDAGPhase``),
    while its task group is ``Failed`` (``executeDAGTask``'s ``groupPhase`` ignores ``continueOn``)."""
    local, argo, on_exit = run_both(WRAPPED_LOOP, tmp_path / "run", version)
    assert local["status"] == "Failed"
    assert argo["status"] == local["status"] and on_exit == "Failed"
    assert sorted(t["status"] for t in argo["tasks"] if t["step"] == "items") == ["Failed"] * 3


@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_the_on_exit_step_sees_failed_when_the_workflow_errors(tmp_path: Path, version: str) -> None:
    """A value output the step did not write: the wait container's error makes the node, and the workflow,
    ``Error`` (the local run: ``Failed``); ``${{ run.status }}`` is ``Succeeded`` or ``Failed`` (docs/spec.md)."""
    local, argo, on_exit = run_both(ERRORED, tmp_path / "run", version)
    assert local["status"] == "Failed"
    assert {t["step"]: t["status"] for t in argo["tasks"]}["bad"] == "Error"  # the engine's own phase stays
    assert on_exit == "status=Failed"


def test_a_submitted_runs_status_lists_the_on_exit_step_once(tmp_path: Path) -> None:
    """``flowyard status`` on a cluster reads the workflow's nodes: the alternative not taken is a Skipped node of the
    same template, and is not the user's step."""
    _, argo, _ = run_both(ERRORED, tmp_path / "run", "4.1.2")
    document = served_workflow(Path(argo["location"]))  # the executor's status
    rows = task_nodes(document, {"bad": "bad", "on-exit": "on-exit"})
    assert [(step, node["phase"]) for step, _, node in rows] == [("bad", "Error"), ("on-exit", "Succeeded")]


CONDITION_ON_TEXT = """\
apiVersion: flowyard/v1
kind: Pipeline
name: text
defaults:
  image: python:3.12-alpine
steps:
  a:
    container:
      command: [python, -c, "import json; open('o.json', 'w').write(json.dumps(\\"fast' || 'x\\"))"]
    outputs:
      o: {type: string, path: o.json}
  b:
    when: "${{ steps.a.outputs.o }} == 'fast'"
    container:
      command: [python, -c, "print('ran')"]
"""


def test_a_condition_on_a_steps_text_decides_as_locally_or_is_refused_by_name(tmp_path: Path) -> None:
    """The output's text reaches ``when`` as written, inside quotes: its own quotes would end the string in
    govaluate (``lexer.go`` ``readUntilFalse``) and rewrite the condition; a container's arrives as JSON text."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "p.yaml").write_text(CONDITION_ON_TEXT, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=folder).stdout)
    compiled = user_cli("compile", "p.yaml", "--backend", "argo", "-o", "wf.yaml", cwd=folder)
    if compiled.returncode != 0:
        assert "condition-on-step-text" in one_line_error(compiled, 2)
        return
    argo = json.loads(user_cli("run", "wf.yaml", "--backend", "argo", "--json", cwd=folder).stdout)
    assert [(t["step"], t["status"]) for t in argo["tasks"]] == [(t["step"], t["status"]) for t in local["tasks"]]


def test_a_wrapped_loop_whose_items_succeed_runs_no_check_and_succeeds(tmp_path: Path) -> None:
    spec = WRAPPED_LOOP.replace('"raise SystemExit(1)"', '"pass"')
    local, argo, on_exit = run_both(spec, tmp_path / "run", "4.1.2")
    assert local["status"] == argo["status"] == "Succeeded" and on_exit == "Succeeded"
    assert [t["step"] for t in argo["tasks"]].count("flowyard-check") == 0  # no pod: its when was false


def read_across_a_cut(readers: int) -> str:
    """``bad`` fails under ``continue``; ``readers`` steps each read its output: over 200 tasks, so some readers are
    in another part of the split DAG than ``bad`` (:mod:`flowyard_argo.nesting`)."""
    lines = ["apiVersion: flowyard/v1", "kind: Pipeline", "name: cut", "failure_policy: continue"]
    lines += ["defaults: {image: python:3.12-alpine}", "steps:", "  bad:"]
    lines += ['    python: {function: "flowyard.testing.functions:fail_on", image: registry.example/flowyard-step:0.1}']
    lines += ["    inputs: {value: 1, bad: 1}", "    outputs: {out: {type: string}}"]
    for i in range(readers):
        lines += [f"  r{i}:", "    inputs: {v: '${{ steps.bad.outputs.out }}'}"]
        lines += ["    container:", '      command: [python, -c, "pass", "${{ inputs.v }}"]']
    return "\n".join(lines) + "\n"


def test_a_value_from_a_failed_step_read_across_a_cut_omits_its_reader_as_locally(tmp_path: Path) -> None:
    """Across a cut the value is an output of the producer's part (default ``""`` when it has none): a reader there
    started on an empty value where locally it is Omitted. Its dependency on ``bad.Succeeded`` crosses as a gate."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(read_across_a_cut(204), encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    options = ["-O", "image_map=images.yaml", "-O", "argo_version=4.1.2"]
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", *options, "--json", cwd=tmp_path).stdout)
    expected = {"bad": "Failed", **{f"r{i}": "Omitted" for i in range(204)}}
    assert {t["step"]: t["status"] for t in local["tasks"]} == expected
    assert {t["step"]: t["status"] for t in argo["tasks"] if t["step"] in expected} == expected
    assert argo["status"] == local["status"] == "Failed"  # each part succeeds to hand out its outputs; main's check
    doc = yaml.safe_load(user_cli("compile", "p.yaml", "--backend", "argo", cwd=tmp_path).stdout)
    assert any(t["name"].startswith("flowyard-part-") for t in doc["spec"]["templates"])


STOPPED = """\
apiVersion: flowyard/v1
kind: Pipeline
name: stopped
defaults:
  image: python:3.12-alpine
steps:
  bad:
    container:
      command: [python, -c, "raise SystemExit(1)"]
  slow:
    container:
      command: [python, -c, "import time; time.sleep(1)"]
  later:
    after: [slow]
    container:
      command: [python, -c, "pass"]
"""


def test_a_step_that_never_started_after_a_failure_is_reported_omitted_as_locally(tmp_path: Path) -> None:
    """Under ``stop`` the controller creates no node for a task it does not start after a failure (``operator.go``
    ``checkParallelism``): the run's report still lists the step, Omitted, as the local run does."""
    tmp_path.joinpath("p.yaml").write_text(STOPPED, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", "--json", cwd=tmp_path).stdout)
    expected = {"bad": "Failed", "slow": "Succeeded", "later": "Omitted"}
    assert {t["step"]: t["status"] for t in local["tasks"]} == expected
    assert {t["step"]: t["status"] for t in argo["tasks"] if t["step"] in expected} == expected
    # and as a server's status says it (submit --watch, status): the same workflow's nodes, read by run_status
    workflow = served_workflow(Path(argo["location"]))
    for node in [workflow["status"], *workflow["status"]["nodes"].values()]:  # the executor writes epoch seconds
        node.pop("startedAt", None), node.pop("finishedAt", None)
    served = run_status(workflow, "stopped", {s: s for s in expected}, "")
    assert {t.step: t.state.value for t in served.tasks} == expected


NOT_A_LIST = """\
apiVersion: flowyard/v1
kind: Pipeline
name: not-a-list
defaults:
  image: registry.example/flowyard-step:0.1
steps:
  up:
    python: {function: "flowyard.testing.functions:emit"}
    inputs: {value: "not a list"}
    outputs: {out: {type: any}}
  s:
    for_each: "${{ steps.up.outputs.out }}"
    python: {function: "flowyard.testing.functions:emit"}
    inputs: {value: "${{ item }}"}
    outputs: {out: {type: any}}
"""


def test_a_for_each_over_what_is_not_a_list_fails_its_step_with_the_local_message(tmp_path: Path) -> None:
    """The item helper (``<step>-items``) finds the upstream value is no list: the step's task fails with the local
    run's message, in both reports (the executor's record and a server's status), not Omitted with none."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(NOT_A_LIST, encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo = json.loads(
        user_cli("run", "p.yaml", "--backend", "argo", "-O", "image_map=images.yaml", "--json", cwd=tmp_path).stdout
    )
    expected = 'for_each needs a list, got "not a list"'
    (failed,) = [t for t in local["tasks"] if t["step"] == "s"]
    assert expected in failed["message"]
    (reported,) = [t for t in argo["tasks"] if t["step"] == "s"]
    assert reported["status"] in ("Failed", "Error") and expected in reported["message"]
    workflow = served_workflow(Path(argo["location"]))
    for node in [workflow["status"], *workflow["status"]["nodes"].values()]:  # the executor writes epoch seconds
        node.pop("startedAt", None), node.pop("finishedAt", None)
    served = {t.step: t for t in run_status(workflow, "not-a-list", {"up": "up", "s": "s"}, "").tasks}
    assert served["s"].state.value in ("Failed", "Error") and expected in served["s"].message


def test_the_progress_of_a_pipelines_run_names_its_steps_only(tmp_path: Path) -> None:
    """The numbering and check tasks are flowyard's: their progress lines are not shown, except a failure, shown as
    its step's (as the reports give it), so the lines read as a local run's."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(NOT_A_LIST, encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    ran = user_cli("run", "p.yaml", "--backend", "argo", "-O", "image_map=images.yaml", cwd=tmp_path)
    lines = [line for line in (ran.stdout + ran.stderr).splitlines() if line.startswith("[")]
    assert lines and not [line for line in lines if "s-items" in line], lines
    assert [line for line in lines if "s failed" in line and 'for_each needs a list, got "not a list"' in line], lines


JSON_LOOKING_TEXT = NOT_A_LIST.replace('inputs: {value: "not a list"}', 'inputs: {value: "[1, 2]"}')


def test_a_for_each_over_text_that_looks_like_a_list_fails_as_locally(tmp_path: Path) -> None:
    """A Python step's ``any`` output that is the text ``[1, 2]`` is text: locally the fan-out refuses it. The
    numbering task reads the value's JSON (the step entrypoint writes it beside the text), not the text."""
    from flowyard_argo.executor.images import host_python_entry

    tmp_path.joinpath("p.yaml").write_text(JSON_LOOKING_TEXT, encoding="utf-8")
    tmp_path.joinpath("images.yaml").write_text(json.dumps({"flowyard-step*": host_python_entry()}))
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    options = ["-O", "image_map=images.yaml"]
    argo = json.loads(user_cli("run", "p.yaml", "--backend", "argo", *options, "--json", cwd=tmp_path).stdout)
    expected = 'for_each needs a list, got "[1, 2]"'
    assert next(t["message"] for t in local["tasks"] if t["step"] == "s").endswith(expected)
    assert argo["status"] == local["status"] == "Failed"
    assert next(t["message"] for t in argo["tasks"] if t["step"] == "s").endswith(expected)
