"""Nothing a pod starts outlives it: each pod's processes are one group, killed as a group when its first process
ends (a container ends with it), at its deadline, and when the run's process ends however it ends (Ctrl-C, a kill).

Each pod starts a child that would sleep for minutes; both carry a token in their argv, so what is left running is
found in ``/proc``. Runs go through the CLI from a fresh folder with no ``FLOWYARD_HOME``, as a user runs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard.testing.cli import ctrl_c_reaches_it

from .conftest import needs_namespaces, run_manifest

pytestmark = needs_namespaces

# The pod: starts a child that sleeps, says so, then sleeps itself (or ends at once when argv[2] says "leave").
SPAWNER = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', sys.argv[1]])\n"
    "print('started', flush=True)\n"
    "time.sleep(0 if sys.argv[2] == 'leave' else 300)\n"
)


def manifest(token: str, mode: str, deadline: str = "") -> str:
    limit = f"\n    activeDeadlineSeconds: {deadline}" if deadline else ""
    code = SPAWNER.replace("\n", "\\n")
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: groups}}
spec:
  entrypoint: spawn
  templates:
  - name: spawn{limit}
    container: {{image: python:3.12, command: [python, -c, "{code}", "{token}", "{mode}"]}}
"""


def with_token(token: str) -> list[int]:
    """Processes whose argv holds the token (the pod and its child), zombies aside."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in argv and state != "Z":
            found.append(int(name))
    return found


def gone(token: str, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while with_token(token):
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


@pytest.fixture
def token():
    value = f"flowyard-test-{uuid.uuid4().hex}"
    yield value
    for pid in with_token(value):  # never leave them behind, whatever the test found
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_run_interrupted_leaves_nothing_running(here, token, how):
    (here / "wf.yaml").write_text(manifest(token, "sleep"))
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    flowyard = Path(sys.executable).with_name("flowyard")
    proc = subprocess.Popen(
        [str(flowyard), "run", "wf.yaml"], cwd=here, env=env, stderr=subprocess.PIPE, preexec_fn=ctrl_c_reaches_it
    )
    try:
        end = time.monotonic() + 60
        while len(with_token(token)) < 2:  # the pod and its child
            assert proc.poll() is None and time.monotonic() < end, "the pod did not start"
            time.sleep(0.1)
        proc.send_signal(how)  # to flowyard alone: its pods are not in its process group
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), err
    assert gone(token), f"left running: {with_token(token)}"


def test_a_pod_past_its_deadline_is_killed_with_its_children(here, token):
    (here / "wf.yaml").write_text(manifest(token, "sleep", deadline="2"))
    result = CliRunner().invoke(cli, ["run", "wf.yaml"], catch_exceptions=False)
    assert result.exit_code != 0
    assert "longer than the specified deadline" in result.output + (result.stderr or "")
    assert gone(token, within=2.0), f"left running: {with_token(token)}"


def test_a_pod_ends_with_its_first_process(here, token):
    (here / "wf.yaml").write_text(manifest(token, "leave"))
    result = CliRunner().invoke(cli, ["run", "wf.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert gone(token, within=2.0), f"left running: {with_token(token)}"


def test_a_pod_killed_by_a_signal_exits_137_as_emissary_reports_it(tmp_path):
    """``runEmissary``'s ``exitCodeFromErr``: a sub-process ended by any signal is exit code 137."""
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: signalled}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: python:3.12, command: [python, -c, "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]}
"""
    run = run_manifest(text, tmp_path / "run")
    assert run.root.outputs["exitCode"] == "137"
    assert run.root.message == "main: Error (exit code 137)"


def test_pods_beyond_the_machines_capacity_wait(tmp_path):
    """A fan-out wider than the machine's pod capacity runs all its items, never more than the capacity at once."""
    from flowyard_argo.executor.launcher import MACHINE_PODS

    width = MACHINE_PODS + 3
    text = f"""
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: wide}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: item, template: stamp, withSequence: {{count: "{width}"}}}}
  - name: stamp
    container:
      image: python:3.12
      command: [python, -c, "import time; s = time.time(); time.sleep(0.5); print(s, time.time())"]
"""
    run = run_manifest(text, tmp_path / "run")
    pods = [n for n in run.tree.nodes.values() if n.pod]
    assert len(pods) == width and all(n.outputs["exitCode"] == "0" for n in pods)
    spans = [tuple(map(float, (tmp_path / "run" / "pods" / n.pod / "stdout.log").read_text().split())) for n in pods]
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert most <= MACHINE_PODS


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_a_machine_without_namespaces_refuses_pods_by_name(here):
    """Without CAP_SYS_ADMIN (``setpriv`` drops it) no namespace can be made: the pod is refused by name, no traceback."""
    (here / "wf.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: nocap}\nspec:\n  entrypoint: main\n"
        "  templates:\n  - name: main\n    container: {image: python:3.12, command: [python, -c, 'print(1)']}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    flowyard = Path(sys.executable).with_name("flowyard")
    drop = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
    done = subprocess.run([*drop, str(flowyard), "run", "wf.yaml"], cwd=here, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "pods need mount and network namespaces (unshare), which this machine does not allow" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
