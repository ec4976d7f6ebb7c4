"""A manifest run leaves core's run folder: a journal of node results, each pod's logs as a task's log files,
its status for ``flowyard status``; read back from a fresh folder with nothing configured, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard.runs import RunDirectory, RunStatus, find_run, read_journal
from flowyard_argo.executor.images import ImageMap
from flowyard_argo.executor.record import RunRecord, task_name
from flowyard_argo.executor.versions import argo_version
from flowyard_argo.executor.workflow import prepare, run_workflow

from .conftest import needs_namespaces

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: greet}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello, template: say, arguments: {parameters: [{name: text, value: hello}]}}
    - - name: each
        template: say
        arguments: {parameters: [{name: text, value: "item {{item}}"}]}
        withItems: [a, b]
    - - {name: bye, template: say, arguments: {parameters: [{name: text, value: bye}]}}
  - name: say
    inputs: {parameters: [{name: text}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.text}}"]}
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    (tmp_path / "greet.yaml").write_text(MANIFEST)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@needs_namespaces
def test_a_manifest_run_writes_the_journal_and_status_and_logs_read_it(here):
    ran = invoke("run", "greet.yaml")
    assert ran.exit_code == 0
    progress = [line.split("] ", 1)[1] for line in ran.stderr.splitlines() if line.startswith("[")]
    assert progress[:2] == ["● hello started (1 task)", "✔ hello succeeded"]  # core's plain lines, off a terminal
    assert "✔ each[1] succeeded" in progress and progress[-1] == "✔ bye succeeded"
    run = find_run("greet")
    events = [e for e in read_journal(run.journal_file) if e.get("t") == "task"]
    assert sorted((e["step"], e["item"], e["state"]) for e in events) == [
        ("bye", None, "Succeeded"),
        ("each", 0, "Succeeded"),
        ("each", 1, "Succeeded"),
        ("hello", None, "Succeeded"),
    ]
    status = invoke("status", "greet")
    assert status.exit_code == 0, status.output
    assert "each" in status.output and "2 items: 2 succeeded" in status.output
    logs = invoke("logs", "greet")
    assert logs.exit_code == 0, logs.output
    assert logs.output.splitlines() == ["bye: bye", "each[0]: item a", "each[1]: item b", "hello: hello"]
    one = invoke("logs", "greet", "each", "--item", "1")
    assert one.output.splitlines() == ["each[1]: item b"]
    as_json = json.loads(invoke("status", "greet", "--json").output)
    assert {t["step"] for t in as_json["tasks"]} == {"hello", "each", "bye"}


def _python_image(here, gate=None):
    """An image map: ``py`` runs the host's python3; ``/gate`` (copied into each pod as it starts) when given."""
    entry: dict = {"programs": {"python": "/usr/bin/python3"}}
    if gate is not None:
        entry["folders"] = {"/gate": str(gate)}
    (here / "images.yaml").write_text(yaml.safe_dump({"py": entry}))


RETRIED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: flaky}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: left, template: twice}
      - {name: right, template: twice}
      - {name: flake, template: fail}
  - name: twice
    steps:
    - - {name: inner, template: say}
  - name: say
    container: {image: py, command: [python, -c, "print('inner ran')"]}
  - name: fail
    retryStrategy: {limit: 2}
    container: {image: py, command: [python, -c, "import sys; print('trying'); sys.exit(3)"]}
"""


@needs_namespaces
def test_a_retried_pod_is_one_task_and_two_steps_of_one_name_two_tasks(here):
    """A Retry node's attempts are one task (its attempts counted, each attempt's logs under its own header);
    the same step name reached twice (a template called from two places) gets a task of its own each time."""
    _python_image(here)
    (here / "flaky.yaml").write_text(RETRIED)
    assert invoke("run", "flaky.yaml", "-O", "image_map=images.yaml").exit_code == 1
    tasks = {t["step"]: t for t in json.loads(invoke("status", "flaky", "--json").output)["tasks"]}
    assert sorted(tasks) == ["flake", "inner", "inner-2"]
    assert (tasks["flake"]["status"], tasks["flake"]["attempts"]) == ("Failed", 3)
    flake = invoke("logs", "flaky", "flake").output.splitlines()
    assert flake == [
        "flake: trying",
        "flake: --- attempt 2 ---",
        "flake: trying",
        "flake: --- attempt 3 ---",
        "flake: trying",
        "flake (stderr): --- attempt 2 ---",  # each stream marks each attempt, as a local task's files do
        "flake (stderr): --- attempt 3 ---",
    ]
    assert invoke("logs", "flaky", "inner-2").output.splitlines() == ["inner-2: inner ran"]
    run = find_run("flaky")
    attempts = [e["attempts"] for e in read_journal(run.journal_file) if e["step"] == "flake"]
    assert attempts == [1, 2, 3]
    record = json.loads(run.provenance_file("flake", None).read_text())
    assert (record["attempt"], record["exit_code"], record["backend"]) == (3, 3, "argo")
    assert record["command"] == ["python", "-c", "import sys; print('trying'); sys.exit(3)"]


GATED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: killed}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: stamp}
    - - {name: second, template: wait}
  - name: stamp
    container: {image: py, command: [python, -c, "import time; print(time.time())"]}
  - name: wait
    container: {image: py, command: [python, -c, "import os, time; os.path.exists('/gate/open') or time.sleep(120)"]}
"""


@needs_namespaces
def test_a_killed_run_is_retried_from_its_journal(here):
    """``flowyard run`` killed mid-run leaves no workflow status, only the journal of the pods that ended:
    ``--resume`` (``argo retry``) keeps those that succeeded and runs the rest."""
    gate = here / "gate"
    gate.mkdir()
    _python_image(here, gate)
    (here / "wf.yaml").write_text(GATED)
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    argv = [sys.executable, "-m", "flowyard", "run", "wf.yaml", "-O", "image_map=images.yaml"]
    proc = subprocess.Popen(
        argv, cwd=here, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    journal = here / ".flowyard" / "runs" / "killed" / "journal.jsonl"
    try:
        deadline = time.monotonic() + 60
        while not (journal.is_file() and '"step":"first"' in journal.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "the first pod never ended"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run = find_run("killed")
    assert not (run.path / "workflow.json").exists()
    assert invoke("status", "killed").output.count("Running") >= 1
    stamped = run.log_file("first", None).read_text()
    (gate / "open").write_text("")
    again = invoke("run", "--resume", "killed", "--backend", "argo")
    assert again.exit_code == 0, again.output
    assert run.log_file("first", None).read_text() == stamped  # kept, not run again
    tasks = {t["step"]: t["status"] for t in json.loads(invoke("status", "killed", "--json").output)["tasks"]}
    assert tasks == {"first": "Succeeded", "second": "Succeeded"}


SECRET = "s3cr3t-value-42"


@needs_namespaces
def test_a_secret_the_run_knows_is_masked_in_the_task_logs_journal_and_provenance(here):
    """What the run is told is secret never reaches its folder: logs (the pod's own copies too), the journal's
    outputs, the provenance record's parameters and command show ``***``."""
    text = f"""
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: masked}}
spec:
  entrypoint: leak
  arguments: {{parameters: [{{name: token, value: {SECRET}}}]}}
  templates:
  - name: leak
    inputs: {{parameters: [{{name: token, value: "{{{{workflow.parameters.token}}}}"}}]}}
    outputs: {{parameters: [{{name: echoed, valueFrom: {{path: /tmp/out}}}}]}}
    script:
      image: python:3.12
      command: [python]
      source: |
        import sys
        print("token is {{{{inputs.parameters.token}}}}"); print("{{{{inputs.parameters.token}}}}", file=sys.stderr)
        open("/tmp/out", "w").write("{{{{inputs.parameters.token}}}}")
"""
    version = argo_version("4.1.2")
    wf, _ = prepare(yaml.safe_load(text), version, source="masked.yaml")
    directory = RunDirectory(here / "run")
    header = RunStatus(run_id="masked", pipeline="masked", backend="argo", state="Running")
    record = RunRecord(directory, header, secrets=[SECRET])
    try:
        result = run_workflow(wf, version, ImageMap.load(None), directory.path, record=record)
    finally:
        record.close()
    assert result.phase.value == "Succeeded"
    directory.write_status(record.status(result.tree, state=result.phase, message=f"ended with {SECRET}"))
    written = [p for p in directory.path.rglob("*") if p.is_file() and p.suffix in (".log", ".json", ".jsonl")]
    assert directory.log_file("masked", None).read_text() == "token is ***\n"
    assert directory.log_file("masked", None, "stderr").read_text() == "***\n"
    assert written and [p.name for p in written if SECRET in p.read_text()] == []
    (event,) = read_journal(directory.journal_file)
    assert event["outputs"]["parameters"] == [{"name": "echoed", "value": "***"}]
    record_json = json.loads(directory.provenance_file("masked", None).read_text())
    assert record_json["parameters"] == {"token": "***"}
    assert directory.read_status().message == "ended with ***"


EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "activator_processor"


@needs_namespaces
def test_a_pipeline_run_on_argo_records_its_steps_as_every_backend_does(here):
    """``flowyard run PIPELINE --backend argo``: each pod of a pipeline step gets the step's own record
    (``ProvenanceRecord.of_task``: the fan-out's list parameter left out, as locally), its logs read by step and item;
    flowyard's helper pods get a record of what they ran."""
    programs = {name: ["/usr/bin/python3", f"/opt/seed/{name}"] for name in ("activator", "processor")}
    images = {"nasa-hsi": {"programs": programs, "folders": {"/opt/seed": str(EXAMPLES / "bin")}}}
    (here / "images.yaml").write_text(yaml.safe_dump(images))
    ran = invoke("run", str(EXAMPLES / "fanout.yaml"), "--backend", "argo", "-O", "image_map=images.yaml", "--json")
    assert ran.exit_code == 0, ran.output
    run = find_run(json.loads(ran.stdout)["run_id"])
    record = json.loads(run.provenance_file("activator", 1).read_text())
    assert (record["step"], record["item"], record["image"], record["parameters"]) == ("activator", 1, "nasa-hsi", {})
    assert record["command"][0] == "activator" and record["image_honoured"] is False
    helper = json.loads(run.provenance_file("activator-items", None).read_text())
    assert helper["step"] == "activator-items" and helper["parameters"]  # the helper's inputs, as given
    logs = invoke("logs", run.run_id, "activator", "--item", "1").output.splitlines()
    assert logs and all(line.startswith("activator[1]") for line in logs)


@needs_namespaces
def test_flowyard_runs_lists_a_manifest_run(here):
    assert invoke("run", "greet.yaml").exit_code == 0
    listing = json.loads(invoke("runs", "--json").output)
    assert [r["run_id"] for r in listing["runs"]] == ["greet"]


@pytest.mark.parametrize(
    ("display", "task"),
    [
        ("hello", ("hello", None)),
        ("each(1:b)", ("each", 1)),
        ('activator(0:event:{"msg":"a (b)"},id:1)', ("activator", 0)),
        ("each(12:b).onExit", ("each.onExit", 12)),
        ("each(0:a).hooks.seen", ("each.hooks.seen", 0)),
        ("late.onExit", ("late.onExit", None)),
        ("[0]/odd name", ("0-odd-name", None)),
    ],
)
def test_a_task_is_named_by_its_step_and_loop_index(display, task):
    assert task_name(display) == task


@needs_namespaces
def test_a_running_pods_logs_are_its_tasks_while_it_runs(here):
    """``flowyard logs -f`` follows a pod as it runs: its task's log has what it printed before it ends."""
    _python_image(here)
    (here / "slow.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: slow}\nspec:\n  entrypoint: talk\n"
        "  templates:\n  - name: talk\n    container:\n      image: py\n      command: [python, -u, -c, "
        "\"import time; print('first'); time.sleep(30)\"]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    argv = [sys.executable, "-m", "flowyard", "run", "slow.yaml", "-O", "image_map=images.yaml"]
    proc = subprocess.Popen(
        argv, cwd=here, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = here / ".flowyard" / "runs" / "slow" / "tasks" / "slow" / "stdout.log"
    try:
        deadline = time.monotonic() + 30
        while not (log.is_file() and log.read_text() == "first\n"):
            assert time.monotonic() < deadline and proc.poll() is None, "the pod's first line never reached its task"
            time.sleep(0.1)
        assert find_run("slow").read_status().state.value == "Running"
        assert invoke("logs", "slow").output.splitlines() == ["slow: first"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_the_run_status_is_read_while_other_threads_add_nodes(tmp_path):
    """run.json is rebuilt from the node tree on the thread of whichever pod just ended, while the others go on
    adding nodes: 1,000 pods of the fan-out example hung when that read raised, and the thread that raised died.
    Here a node adds another each time it is looked at, as another thread may do at any moment of the read."""
    from flowyard._lowering import lower
    from flowyard.spec import Container, Pipeline, Step
    from flowyard_argo.executor.nodes import POD, SKIPPED, NodeTree
    from flowyard_argo.executor.record import PipelineTasks

    tree = NodeTree("wf")
    root = tree.create("wf", "wf", "DAG", "main", None)
    for i in range(3):
        tree.create(f"wf.s({i}:x)", f"s({i}:x)", SKIPPED, "s", root)

    class Growing:
        """A node whose every read adds one more to the tree."""

        display_name, template, added = "grow", "", 0

        @property
        def type(self) -> str:
            Growing.added += 1
            tree.create(f"wf.t{Growing.added}", f"t{Growing.added}", POD, "t", root)
            return SKIPPED

    tree.nodes["grow"] = Growing()  # type: ignore[assignment]
    pipeline = Pipeline(
        name="p",
        parameters={"go": {"type": "bool", "default": False}},
        steps={"s": Step(container=Container(command=["true"], image="x"), when="${{ params.go }}")},
    )
    header = RunStatus(run_id="wf", pipeline="p", backend="argo", state="Running")
    record = RunRecord(
        RunDirectory(tmp_path / "run"), header, pipeline=PipelineTasks({"s": lower(pipeline).step("s")}, {})
    )
    try:
        tasks = record.tasks(tree)
    finally:
        record.close()
    assert sorted(t.item for t in tasks if t.step == "s") == [0, 1, 2]


@needs_namespaces
def test_an_error_in_the_runs_record_is_a_fault_not_a_hang(tmp_path, monkeypatch):
    """The record (journal, run.json, logs) is written on the pod's thread after the node ended; if writing it fails,
    the run goes on to its end and the error is in executor-faults.log, as any fault of the executor's."""
    import threading

    def broken(self, tree, node, template, *, kept=False):
        raise OSError("disk full")

    monkeypatch.setattr(RunRecord, "pod_finished", broken)
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: broken-record}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: echo}
    - - {name: two, template: echo}
  - name: echo
    container: {image: busybox, command: ["true"]}
"""
    version = argo_version("4.1.2")
    wf, _ = prepare(yaml.safe_load(text), version, source="broken.yaml")
    directory = RunDirectory(tmp_path / "run")
    header = RunStatus(run_id="broken-record", pipeline="broken-record", backend="argo", state="Running")
    record = RunRecord(directory, header)
    ended: list[object] = []
    runner = threading.Thread(
        target=lambda: ended.append(run_workflow(wf, version, ImageMap.load(None), directory.path, record=record)),
        daemon=True,
    )
    runner.start()
    runner.join(30)
    record.close()
    assert ended, "the run did not reach its end"
    assert "disk full" in (directory.path / "executor-faults.log").read_text()
