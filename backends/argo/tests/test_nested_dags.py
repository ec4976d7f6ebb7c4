"""A pipeline over v4's 200-tasks cap compiles to nested DAGs and runs as locally (issue 15, divergence 7).

v4's CRDs cap a DAG's tasks and a workflow's templates at 200 (``workflow_types.go``: ``DAGTemplate.Tasks`` and
``WorkflowSpec.Templates``, ``+kubebuilder:validation:MaxItems=200``). ``main``'s tasks are split into child DAG
templates of at most 200; what crosses the split (values, artifacts, item lists, ``when`` operands, dependencies)
goes through the child DAGs' inputs and outputs. Executed through the executor, next to the local run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flowyard._loading import load_ir
from flowyard.summary import summarize_ir
from flowyard.testing.cli import user_cli
from flowyard_argo import ArgoBackend
from flowyard_argo.errors import CompileError
from flowyard_argo.nesting import nest
from hera.workflows import Task

from .conftest import STEP_IMAGE, needs_pods


def wide(fan_outs: int) -> str:
    """``c0`` makes a list and a number; each ``fK`` fans out over the list (its numbering task reads the list's
    file), every tenth only when the number is large enough: ``fan_outs * 2 + 1`` tasks in all."""
    lines = ["apiVersion: flowyard/v1", "kind: Pipeline", "name: wide", "defaults:", "  image: python:3.12-alpine"]
    lines += ["steps:", "  c0:", "    container:"]
    lines += ["      command: [python, -c, \"open('xs.json', 'w').write('[1, 2]'); open('n.txt', 'w').write('2')\"]"]
    lines += ["    outputs:", "      xs: {type: list, path: xs.json}", "      n: {type: integer, path: n.txt}"]
    for i in range(fan_outs):
        write = f"import sys; open('v.txt', 'w').write(str(int(sys.argv[1]) * {i}))"
        lines += [f"  f{i}:", "    for_each: ${{ steps.c0.outputs.xs }}", "    container:"]
        lines += [f'      command: [python, -c, "{write}", "${{{{ item }}}}"]']
        lines += ["    outputs:", "      v: {type: integer, path: v.txt}"]
        if i % 10 == 9:
            lines.append(f'    when: "${{{{ steps.c0.outputs.n }}}} > {i % 3}"')
    lines += ["outputs:", "  first: ${{ steps.f0.outputs.v }}", f"  last: ${{{{ steps.f{fan_outs - 1}.outputs.v }}}}"]
    return "\n".join(lines) + "\n"


def chain(length: int) -> str:
    """``length`` steps, each adding one to the value of the one before: every dependency crosses a split."""
    add = "import sys; open('v.txt', 'w').write(str(int(sys.argv[1]) + 1))"
    lines = ["apiVersion: flowyard/v1", "kind: Pipeline", "name: chain", "defaults:", "  image: python:3.12-alpine"]
    lines += ["steps:", "  c0:", "    container:", "      command: [python, -c, \"open('v.txt', 'w').write('0')\"]"]
    lines += ["    outputs:", "      v: {type: integer, path: v.txt}"]
    for i in range(1, length):
        lines += [f"  c{i}:", "    container:", f'      command: [python, -c, "{add}", "${{{{ inputs.v }}}}"]']
        lines += ["    inputs:", f'      v: {{value: "${{{{ steps.c{i - 1}.outputs.v }}}}"}}']
        lines += ["    outputs:", "      v: {type: integer, path: v.txt}"]
    lines += ["outputs:", f"  last: ${{{{ steps.c{length - 1}.outputs.v }}}}"]
    return "\n".join(lines) + "\n"


def two_groups(size: int, policy: str = "stop") -> str:
    """Two groups that do not read each other, ``size`` steps each, too many for one DAG: ``bad`` fails at once and
    the ``aK`` wait for it; ``b0`` sleeps past that failure, then the other ``bK`` would start after it."""
    lines = ["apiVersion: flowyard/v1", "kind: Pipeline", "name: two", f"failure_policy: {policy}"]
    lines += ["defaults:", "  image: python:3.12-alpine", "steps:"]
    lines += ["  bad:", "    container:", '      command: [python, -c, "raise SystemExit(3)"]']
    for i in range(1, size):
        lines += [f"  a{i}:", "    after: [bad]", "    container:", '      command: [python, -c, "pass"]']
    lines += ["  b0:", "    container:", '      command: [python, -c, "import time; time.sleep(2)"]']
    for i in range(1, size):
        lines += [f"  b{i}:", "    after: [b0]", "    container:", '      command: [python, -c, "pass"]']
    return "\n".join(lines) + "\n"


def ran(doc: dict, steps: dict) -> list[tuple[str, int | None, str]]:
    """The tasks of the pipeline's steps (those the local run ``steps`` has); an Argo run's helper pods left out."""
    names = {t["step"] for t in steps["tasks"]}
    return sorted((t["step"], t["item"], t["status"]) for t in doc["tasks"] if t["step"] in names)


def run_both(tmp_path: Path, text: str, version: str) -> tuple[dict, dict]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo_run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*argo_run, cwd=tmp_path).stdout)
    return local, argo


def dag_sizes(tmp_path: Path, version: str) -> list[int]:
    compiled = user_cli(
        "compile", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "-o", "wf.yaml", cwd=tmp_path
    )
    assert compiled.returncode == 0, compiled.stderr
    doc = yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))
    return [len(t["dag"]["tasks"]) for t in doc["spec"]["templates"] if "dag" in t]


@needs_pods
def test_a_101_step_pipeline_of_201_tasks_runs_on_argo_4_as_locally(tmp_path: Path) -> None:
    local, argo = run_both(tmp_path, wide(100), "4.1.2")
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert argo["outputs"] == local["outputs"] == {"first": [0, 0], "last": [99, 198]}
    assert ran(argo, local) == ran(local, local)  # the steps skipped by their `when` too
    assert {t[2] for t in ran(local, local)} == {"Succeeded", "Skipped"}
    assert max(dag_sizes(tmp_path, "4.1.2")) <= 200


@needs_pods
def test_a_450_step_chain_runs_on_argo_4_as_locally(tmp_path: Path) -> None:
    """450 steps are 450 templates, over v4's cap of 200 (``WorkflowSpec.Templates``): the step templates past the
    cap are written ``inline`` in their tasks (:mod:`flowyard_argo.inlining`), which the cap does not count, and the
    manifest (split into parts, as for every release) runs with every value crossing the split."""
    local, argo = run_both(tmp_path, chain(450), "4.1.2")
    assert argo["status"] == local["status"] == "Succeeded", argo["message"]
    assert argo["outputs"] == local["outputs"] == {"last": 449}
    assert ran(argo, local) == ran(local, local)
    assert max(dag_sizes(tmp_path, "4.1.2")) <= 200
    doc = yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))
    inline = [t for tpl in doc["spec"]["templates"] if "dag" in tpl for t in tpl["dag"]["tasks"] if "inline" in t]
    assert len(doc["spec"]["templates"]) == 200 and inline  # only as many inline as the cap needs


@needs_pods
def test_a_container_fan_outs_value_outputs_are_reported_as_locally(tmp_path: Path) -> None:
    """Found here: ``flowyard run --backend argo`` ended in a traceback (an int is not an envelope)."""
    local, argo = run_both(tmp_path, wide(3), "4.1.2")
    assert argo["outputs"] == local["outputs"] == {"first": [0, 0], "last": [2, 4]}


SKIPPED_ACROSS = """\
  maybe:
    when: "${{ params.mode }} == 'fast'"
    container:
      command: [python, -c, "open('v.txt', 'w').write('7')"]
    outputs:
      v: {type: integer, path: v.txt}
  use:
    container:
      command: [python, -c, "pass", "${{ inputs.m }}", "${{ inputs.v }}"]
    inputs:
      m: {value: "${{ steps.maybe.outputs.v }}"}
      v: {value: "${{ steps.c198.outputs.v }}"}
  later:
    after: [maybe, c198]
    container:
      command: [python, -c, "pass"]
"""


def phases(workflow: Path, names: set[str]) -> dict[str, str]:
    nodes = json.loads(workflow.read_text(encoding="utf-8"))["status"]["nodes"].values()
    return {n["displayName"]: n["phase"] for n in nodes if n.get("displayName") in names}


@needs_pods
@pytest.mark.parametrize("mode", ["slow", "fast"])
def test_a_dependency_on_a_skipped_step_across_the_split_keeps_its_meaning(tmp_path: Path, mode: str) -> None:
    """202 steps (over v4's template cap: run as 3.7 would); ``maybe`` and its two dependents end up in different parts: the consumer of its outputs is Omitted after
    it is skipped, the step only ``after`` it still runs (docs/spec.md "Skipped steps"), as locally."""
    text = chain(199).replace("outputs:\n  last", SKIPPED_ACROSS + "outputs:\n  last")
    text = text.replace("steps:\n", "parameters:\n  mode: {default: slow}\nsteps:\n", 1)
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "-p", f"mode={mode}", "--json", cwd=tmp_path).stdout)
    argo_run = ["run", "p.yaml", "--backend", "argo", "-O", "argo_version=3.7.9", "-p", f"mode={mode}", "--json"]
    argo = json.loads(user_cli(*argo_run, cwd=tmp_path).stdout)
    expected = {"maybe": "Skipped", "use": "Omitted", "later": "Succeeded"} if mode == "slow" else {}
    expected = expected or {"maybe": "Succeeded", "use": "Succeeded", "later": "Succeeded"}
    assert {t["step"]: t["status"] for t in local["tasks"] if t["step"] in expected} == expected
    assert phases(Path(argo["location"]) / "workflow.json", set(expected)) == expected
    # main, then three parts: 202 steps, the checks of the 200 integers a container reads, and the gates
    assert dag_sizes(tmp_path, "3.7.9")[:4] == [3, 200, 200, 9]


@pytest.mark.parametrize("text", [wide(100), chain(250), two_groups(150)], ids=["wide", "chain", "two-groups"])
def test_a_nested_manifest_reads_back_as_the_pipeline_it_was_compiled_from(tmp_path: Path, text: str) -> None:
    """The structural summary (the contract kit's) of the split manifest: each part's inputs and gates read back as
    the references and dependencies they replace."""
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    ir = load_ir(tmp_path / "p.yaml")
    backend = ArgoBackend({"default_image": STEP_IMAGE, "argo_version": "3.7.9"})
    compiled = backend.compile(ir)
    assert "flowyard-part-2" in compiled.main.content
    assert backend.summarize(compiled) == summarize_ir(ir)


def compiled_main(tmp_path: Path, text: str) -> list[dict]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    dag_sizes(tmp_path, "4.1.2")
    doc = yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))
    return next(t["dag"]["tasks"] for t in doc["spec"]["templates"] if t["name"] == "main")


@needs_pods
def test_after_a_failure_no_part_starts_a_step_that_locally_never_starts(tmp_path: Path) -> None:
    """``failure_policy: stop``: locally no step starts after ``bad`` failed (``b0`` started with it, the other
    ``bK`` wait for ``b0``, which sleeps past the failure); on Argo, in two parts, the same steps run."""
    local, argo = run_both(tmp_path, two_groups(150), "4.1.2")
    assert argo["status"] == local["status"] == "Failed"
    started = {t["step"] for t in local["tasks"] if t["status"] in ("Succeeded", "Failed")}
    assert started == {"bad", "b0"}  # what `stop` means locally
    assert {t["step"] for t in argo["tasks"] if t["status"] in ("Succeeded", "Failed")} == started
    # part 2 waits for part 1, which failed: Omitted (dag.go executeDAGTask), its steps listed Omitted as locally
    assert phases(Path(argo["location"]) / "workflow.json", {"flowyard-part-2"}) == {"flowyard-part-2": "Omitted"}
    assert ran(argo, local) == ran(local, local)
    # cut in step order (depth by depth): bad, b0, the aK and b1-b49, then the rest of the bK and the gate on b0
    assert dag_sizes(tmp_path, "4.1.2")[:3] == [2, 200, 101]


def test_under_stop_main_calls_its_parts_one_after_another(tmp_path: Path) -> None:
    """``main``'s template-level ``failFast`` (``operator.go`` ``checkParallelism``) then starts no part after one
    failed; a part's own sees only its own tasks' failures."""
    main = compiled_main(tmp_path, two_groups(150))
    assert [(t["name"], t.get("depends")) for t in main] == [
        ("flowyard-part-1", None),
        ("flowyard-part-2", "flowyard-part-1"),
    ]


def test_under_continue_the_parts_of_main_run_side_by_side(tmp_path: Path) -> None:
    """A step that continues keeps the run going: a part waits only for the parts it reads from, and groups that do
    not read each other are kept whole, each in a part of its own."""
    main = compiled_main(tmp_path, two_groups(150, policy="continue"))
    calls = [(t["name"], t.get("depends")) for t in main if not t["name"].endswith("-check")]
    assert calls == [("flowyard-part-1", None), ("flowyard-part-2", None)]
    assert dag_sizes(tmp_path, "4.1.2")[:3] == [4, 152, 152]  # and a check of each part; its end and failure marker


def test_a_task_that_reads_from_a_later_part_is_refused() -> None:
    """Parts run in the order of ``main``'s tasks, which the compiler lists in step order (the IR's topological
    order): a task listed before one it reads from would make the parts wait for each other."""
    tasks = [Task(name="t0", template="s", depends="t249")]
    tasks += [Task(name=f"t{i}", template="s", depends=f"t{i - 1}" if i > 1 else None) for i in range(1, 250)]
    with pytest.raises(CompileError, match="'t0' reads from 't249'"):
        nest(list(tasks), continues=False, taken=set())
