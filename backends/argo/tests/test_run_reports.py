"""The two reports of an Argo run say what the local run says of the same pipeline (issue 15, the last review).

``flowyard run PIPELINE --backend argo`` reports the executor's own record of the run (``executor/record.py``);
``submit --watch`` and ``status`` read the workflow's status from an Argo Server (``service.task_nodes``). Both are
checked here on one executed run: its JSON, and its final workflow status (the run folder's ``workflow.json`` and
``manifest.yaml``) read as a server's answer, each next to ``flowyard run PIPELINE`` on the local backend, from a
fresh folder with nothing configured.

A loop over no items is a ``Skipped`` node on Argo ("Skipped, empty params": ``dag.go`` ``executeDAGTask``,
``steps.go`` ``expandStepGroup``, v3.6.19 to v4.1.2); locally an empty fan-out has no task at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flowyard._loading import load_ir
from flowyard.testing.cli import user_cli
from flowyard_argo.backend import _step_names
from flowyard_argo.executor.versions import ARGO_VERSIONS
from flowyard_argo.service import task_nodes

from .conftest import needs_pods, served_workflow

EMPTY_LOOPS = """\
apiVersion: flowyard/v1
kind: Pipeline
name: empty
parameters:
  xs: {type: list, default: []}
  go: {type: bool, default: true}
defaults:
  image: python:3.12-alpine
steps:
  write:
    for_each: ${{ params.xs }}
    container:
      command: [python, -c, "open('o.txt', 'w').write('x')"]
    outputs:
      out: o.txt
  guarded:
    for_each: ${{ params.xs }}
    when: ${{ params.go }}
    container:
      command: [python, -c, "pass"]
  gather:
    container:
      command: [python, -c, "import os, sys; print(len(os.listdir(sys.argv[1])))", "${{ inputs.files.path }}"]
    inputs:
      files: {value: "${{ steps.write.outputs.out }}", path: files}
"""

FALSE_WHEN = EMPTY_LOOPS.replace("default: true", "default: false").replace(
    "  guarded:\n    for_each: ${{ params.xs }}\n", "  maybe:\n"
)

WRONG_VALUE = """\
apiVersion: flowyard/v1
kind: Pipeline
name: checked
defaults:
  image: python:3.12-alpine
steps:
  make:
    container:
      command: [python, -c, "open('n.txt', 'w').write('abc')"]
    outputs:
      n: {type: number, path: n.txt}
  show:
    container:
      command: [python, -c, "print(1)", "${{ inputs.n }}"]
    inputs:
      n: ${{ steps.make.outputs.n }}
"""

STEPS = {
    "write",
    "guarded",
    "maybe",
    "gather",
    "make",
    "show",
    "first_one",
    "second_one",
}  # DNS-safe names: their Argo task names are the same


def run_both(spec: str, folder: Path, version: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The local run's JSON, the Argo run's JSON (the executor's record) and its final workflow status as a server
    gives it (spec and status)."""
    (folder / "p.yaml").write_text(spec, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=folder).stdout)
    run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*run, cwd=folder).stdout)
    return local, argo, served_workflow(Path(argo["location"]))


def reported(tasks: list[dict[str, Any]]) -> list[tuple[str, int | None, str]]:
    """The pipeline's steps a report lists (an Argo run's helper pods left out), with their states."""
    return sorted((t["step"], t["item"], t["status"]) for t in tasks if t["step"] in STEPS)


def served(workflow: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    """What ``flowyard status`` says of the same workflow read from an Argo Server (``run_status`` reads these rows;
    the executor writes its times as epoch seconds, a server as RFC 3339 text)."""
    return sorted((step, item, node["phase"]) for step, item, node in task_nodes(workflow, {s: s for s in STEPS}))


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_both_reports_of_an_empty_fan_out_list_it_as_locally(tmp_path: Path, version: str) -> None:
    local, argo, workflow = run_both(EMPTY_LOOPS, tmp_path, version)
    assert reported(local["tasks"]) == [("gather", None, "Succeeded")]  # no task for a loop over nothing
    nodes = {n["displayName"]: n for n in workflow["status"]["nodes"].values()}
    assert [(nodes[s]["type"], nodes[s]["phase"], nodes[s]["message"]) for s in ("write", "guarded")] == [
        ("Skipped", "Skipped", "Skipped, empty params")
    ] * 2  # as dag.go executeDAGTask makes it
    assert reported(argo["tasks"]) == reported(local["tasks"])
    assert served(workflow) == reported(local["tasks"])


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_both_reports_of_a_when_that_was_false_list_it_as_locally(tmp_path: Path, version: str) -> None:
    """A step whose ``when`` is false is a Skipped task in all three reports (its node: ``when '...' evaluated
    false``, ``dag.go`` ``executeDAGTask``), next to an empty fan-out, which is in none."""
    local, argo, workflow = run_both(FALSE_WHEN, tmp_path, version)
    assert reported(local["tasks"]) == [("gather", None, "Succeeded"), ("maybe", None, "Skipped")]
    assert reported(argo["tasks"]) == served(workflow) == reported(local["tasks"])


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_both_reports_give_a_failed_check_to_its_producer_as_locally(tmp_path: Path, version: str) -> None:
    local, argo, workflow = run_both(WRONG_VALUE, tmp_path, version)
    assert reported(local["tasks"]) == [("make", None, "Failed"), ("show", None, "Omitted")]
    assert reported(argo["tasks"]) == served(workflow) == reported(local["tasks"])
    says = "is not JSON: Expecting value"  # locally the file's path is the task's folder's
    assert says in {t["step"]: t["message"] for t in local["tasks"]}["make"]
    record = {t["step"]: t["message"] for t in argo["tasks"]}
    server = {step: node["message"] for step, _, node in task_nodes(workflow, {s: s for s in STEPS})}
    assert says in record["make"] and says in server["make"]


NAMED = """\
apiVersion: flowyard/v1
kind: Pipeline
name: named
defaults:
  image: python:3.12-alpine
steps:
  my_step:
    container:
      command: [python, -c, "raise SystemExit(1)"]
on_exit:
  container:
    command: [python, -c, "print('done')"]
"""


@needs_pods
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_both_reports_name_a_step_as_the_spec_does(tmp_path: Path, version: str) -> None:
    """A step's Argo task is its DNS name (``my-step``), and the on-exit step that runs after a failure is the
    alternative ``on-exit-failed`` (:mod:`flowyard_argo.on_exit`); the reports say ``my_step`` and ``on_exit``."""
    local, argo, workflow = run_both(NAMED, tmp_path, version)
    names = {s.dns_name: s.name for s in load_ir(tmp_path / "p.yaml").all_steps}
    expected = [("my_step", None, "Failed"), ("on_exit", None, "Succeeded")]
    assert sorted((t["step"], t["item"], t["status"]) for t in local["tasks"]) == expected
    assert sorted((step, item, node["phase"]) for step, item, node in task_nodes(workflow, names)) == expected
    assert sorted((t["step"], t["item"], t["status"]) for t in argo["tasks"]) == expected
    assert (Path(argo["location"]) / "tasks" / "my_step").is_dir()  # logs and provenance where the local run keeps them


@needs_pods
def test_the_status_of_a_workflow_read_without_its_pipeline_lists_no_check_task(tmp_path: Path) -> None:
    """``flowyard status NAME --backend argo`` on a workflow it did not submit here names steps by their templates
    (``backend._step_names``); flowyard's check template (:mod:`flowyard_argo.scalar_checks`) is not a step."""
    passing = WRONG_VALUE.replace("write('abc')", "write('3')")
    local, _, workflow = run_both(passing, tmp_path, "4.1.2")
    steps = sorted(
        (step, item, node["phase"]) for step, item, node in task_nodes(workflow, _step_names(None, workflow))
    )
    assert steps == sorted((t["step"], t["item"], t["status"]) for t in local["tasks"])


@needs_pods
@pytest.mark.parametrize("spec", [pytest.param(EMPTY_LOOPS, id="items"), pytest.param(WRONG_VALUE, id="check")])
def test_the_record_lists_the_pipelines_steps_only(tmp_path: Path, spec: str) -> None:
    local, argo, workflow = run_both(spec.replace("write('abc')", "write('3')"), tmp_path, "4.1.2")
    everything = sorted((t["step"], t["item"], t["status"]) for t in argo["tasks"])
    assert everything == sorted((t["step"], t["item"], t["status"]) for t in local["tasks"]) == served(workflow)


RESUMED = """\
apiVersion: flowyard/v1
kind: Pipeline
name: resumed
defaults:
  image: python:3.12-alpine
steps:
  first_one:
    container:
      command: [python, -c, "raise SystemExit(1)"]
  second_one:
    after: [first_one]
    container:
      command: [python, -c, "pass"]
"""


@needs_pods
def test_a_resumed_runs_record_lists_its_steps_as_the_first_run(tmp_path: Path) -> None:
    """``flowyard run --resume NAME --backend argo`` (``argo retry``) runs the failed step again; its record lists the
    pipeline's steps as the first run's did, the one Omitted after the failure too."""
    local, argo, _ = run_both(RESUMED, tmp_path, "4.1.2")
    expected = [("first_one", None, "Failed"), ("second_one", None, "Omitted")]
    assert reported(local["tasks"]) == reported(argo["tasks"]) == expected
    again = user_cli("run", "--resume", argo["run_id"], "--backend", "argo", "--json", cwd=tmp_path)
    assert reported(json.loads(again.stdout)["tasks"]) == expected


def test_a_step_named_like_a_check_or_a_numbering_task_fails_only_itself() -> None:
    """``a-values`` and ``a-items`` are flowyard's tasks only where ``a`` is checked or fanned out (the names are
    reserved then): a user's step of that name that fails is its own failure, not ``a``'s."""
    from flowyard_argo.reported_tasks import failed_checks

    steps = {"a": "a", "a-values": "a-values", "b": "b"}
    rows = [("a-values", None, "Failed", "boom"), ("b-items", None, "Failed", "for_each needs a list, got 1")]
    assert failed_checks(rows, steps) == {("b", None): ("Failed", "for_each needs a list, got 1")}


def test_an_attempts_item_is_its_loop_index_else_its_flowyard_index_input() -> None:
    from flowyard_argo.reported_tasks import item_of

    inputs = {"parameters": [{"name": "flowyard-item", "value": "7"}, {"name": "flowyard-index", "value": "3"}]}
    assert item_of(5, inputs) == 5
    assert item_of(None, inputs) == 3
    assert item_of(None, {"parameters": [{"name": "x", "value": "1"}]}) is None and item_of(None, None) is None
