"""``synchronization`` as locks on this machine: mutexes and ConfigMap semaphores at the template and workflow
level, within one run and between two ``flowyard run``s of one folder; what cannot be had refused by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import needs_namespaces
from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

pytestmark = needs_namespaces

# Each pod prints when it started and ended (the host's clock, in seconds).
TIMED = "import sys, time; s = time.time(); time.sleep(float(sys.argv[1])); print(s, time.time())"

FOUR_PODS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: hold, template: hold, withParam: '["a","b","c","d"]'}}
  - name: hold
    synchronization: {sync}
    container:
      image: python:3.12
      command: [python, -c, "{timed}", "0.6"]
"""


def _intervals(name: str, folder: Path) -> list[tuple[float, float]]:
    status = workflow_status(name)
    pods = [n["podName"] for n in status["nodes"].values() if n.get("podName")]
    found = []
    for pod in pods:
        start, end = (
            float(x) for x in (folder / ".flowyard/runs" / name / "pods" / pod / "stdout.log").read_text().split()
        )
        found.append((start, end))
    return sorted(found)


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def _configmap(folder: Path, name: str, **data: str) -> Path:
    maps = folder / "maps"
    maps.mkdir(exist_ok=True)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    (maps / f"{name}.yaml").write_text(json.dumps(body))
    return maps


def test_a_template_mutex_runs_its_pods_one_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = FOUR_PODS.format(name="mutex", sync="{mutexes: [{name: one}]}", timed=TIMED)
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 0, result.output
    intervals = _intervals("mutex", tmp_path)
    assert len(intervals) == 4
    assert _most_at_once(intervals) == 1


def test_a_semaphore_takes_its_limit_from_the_configmap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maps = _configmap(tmp_path, "limits", template="2")
    sync = "{semaphores: [{configMapKeyRef: {name: limits, key: template}}]}"
    manifest = FOUR_PODS.format(name="sem", sync=sync, timed=TIMED)
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "-O", f"configmaps={maps}")
    assert result.exit_code == 0, result.output
    assert _most_at_once(_intervals("sem", tmp_path)) == 2


def test_a_semaphore_without_its_configmap_errors_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = "{semaphores: [{configMapKeyRef: {name: absent, key: template}}]}"
    manifest = FOUR_PODS.format(name="nomap", sync=sync, timed=TIMED)
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 1
    errored = [n for n in workflow_status("nomap")["nodes"].values() if n["phase"] == "Error" and n["type"] == "Pod"]
    assert len(errored) == 4
    assert errored[0]["message"].startswith("failed to initialize semaphore default/ConfigMap/absent/template")
    assert "ConfigMap 'absent' does not exist" in errored[0]["message"]


WORKFLOW_LEVEL = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: wf-level-}}
spec:
  entrypoint: main
  synchronization: {sync}
  templates:
  - name: main
    container:
      image: python:3.12
      command: [python, -c, "{timed}", "1.5"]
"""


def test_a_workflow_mutex_holds_between_two_runs_of_one_folder(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW_LEVEL.format(sync="{mutexes: [{name: shared}]}", timed=TIMED))
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    command = [sys.executable, "-m", "flowyard._cli", "run", "wf.yaml", "--name"]
    runs = [subprocess.Popen([*command, f"run-{i}"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL) for i in (1, 2)]
    assert [p.wait(timeout=120) for p in runs] == [0, 0]
    intervals = []
    for name in ("run-1", "run-2"):
        status = json.loads((tmp_path / ".flowyard/runs" / name / "workflow.json").read_text())["status"]
        pod = next(n["podName"] for n in status["nodes"].values() if n.get("podName"))
        text = (tmp_path / ".flowyard/runs" / name / "pods" / pod / "stdout.log").read_text()
        start, end = (float(x) for x in text.split())
        intervals.append((start, end))
    assert _most_at_once(intervals) == 1


@pytest.mark.parametrize(
    ("sync", "named"),
    [
        ("{semaphores: [{configMapKeyRef: {name: absent, key: workflow}}]}", "failed to initialize semaphore"),
        ("{semaphores: [{database: {key: workflow}}]}", "a database semaphore"),
    ],
)
def test_a_workflow_lock_that_cannot_be_had_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: str, named: str
) -> None:
    result = run_in_fresh_folder(tmp_path, monkeypatch, WORKFLOW_LEVEL.format(sync=sync, timed=TIMED), "wf.yaml")
    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_waiting_for_its_workflow_lock_says_so(tmp_path: Path) -> None:
    from flowyard_argo.executor.synchronization import Lock, holding

    (tmp_path / "wf.yaml").write_text(WORKFLOW_LEVEL.format(sync="{mutexes: [{name: shared}]}", timed=TIMED))
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    command = [sys.executable, "-m", "flowyard._cli", "run", "wf.yaml", "--name", "later"]
    locks = tmp_path / ".flowyard/runs/.argo-locks"  # another process holding the lock, as another run would
    with holding(locks, [Lock("default/Mutex/shared", 1)], lambda _message: None):
        run = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert run.stderr is not None
        line = run.stderr.readline()
        assert line == "notice: Waiting for default/Mutex/shared lock. Lock status: 0/1\n"
        assert run.poll() is None  # still waiting while the lock is held
    _out, rest = run.communicate(timeout=120)
    assert run.returncode == 0, rest
