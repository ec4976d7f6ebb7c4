"""Pods on the host: their own folders and namespaces (no network, none of the host's home or project files),
and the workflow's ``parallelism`` capping running pods; DAG ``target``, inline templates, suspend durations."""

from __future__ import annotations

import itertools
import json
import socket
import threading

import pytest
from flowyard.runs import TaskState

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

PROBE = """
import os, socket, sys
seen = os.path.exists(sys.argv[2])
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    reached = True
except OSError:
    reached = False
open("/tmp/mine", "w").write(sys.argv[3])
print(seen, reached, sorted(os.listdir("/tmp")))
"""


def test_a_pod_sees_no_network_and_no_host_project_files(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    manifest = f"""
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: iso}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: a, template: probe, arguments: {{parameters: [{{name: tag, value: a}}]}}}}
      - {{name: b, template: probe, arguments: {{parameters: [{{name: tag, value: b}}]}}}}
  - name: probe
    inputs: {{parameters: [{{name: tag}}]}}
    container:
      image: python:3.12
      command: [python, -c, {json.dumps(PROBE)}, "{port}", "{tmp_path}", "{{{{inputs.parameters.tag}}}}"]
"""
    run = run_manifest(manifest, tmp_path / "run")
    server.close()
    assert run.phase is TaskState.SUCCEEDED, run.message
    for name in ("a", "b"):
        pod = by_display(run)[name]
        log = (tmp_path / "run" / "pods" / pod.pod / "stdout.log").read_text()
        assert log == "False False ['mine']\n"  # no host folder, no connection, its own /tmp
        assert (tmp_path / "run" / "pods" / pod.pod / "fs" / "tmp" / "mine").read_text() == name


def test_workflow_parallelism_target_inline_and_suspend(tmp_path):
    manifest = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: par}
spec:
  entrypoint: main
  parallelism: 1
  templates:
  - name: main
    dag:
      target: b
      tasks:
      - name: a
        withItems: [1, 2, 3]
        inline:
          container: {image: python:3.12, command: [python, -c, "import time; s = time.time(); time.sleep(0.3); print(s, time.time())"]}
      - {name: wait, template: pause, depends: a}
      - {name: b, template: pause, depends: wait}
      - {name: not-a-target, template: pause}
  - name: pause
    suspend: {duration: "0s"}
"""
    run = run_manifest(manifest, tmp_path)
    assert run.phase is TaskState.SUCCEEDED, run.message
    spans = sorted(
        tuple(map(float, (tmp_path / "pods" / n.pod / "stdout.log").read_text().split())) for n in run.tree.pods()
    )
    assert len(spans) == 3
    for (_, first_end), (second_start, _) in itertools.pairwise(spans):
        assert first_end <= second_start  # parallelism 1: one pod at a time
    names = {n.display_name for n in run.tree.nodes.values()}
    assert "not-a-target" not in names  # only the target and its ancestors run
    assert by_display(run)["b"].phase is TaskState.SUCCEEDED


def test_a_pod_past_its_timeout_is_killed_and_failed(tmp_path):
    manifest = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: slow}
spec:
  entrypoint: slow
  templates:
  - name: slow
    timeout: 1s
    container: {image: python:3.12, command: [python, -c, "import time; time.sleep(30)"]}
"""
    run = run_manifest(manifest, tmp_path)
    assert run.phase is TaskState.FAILED
    assert run.root.message == "Pod was active on the node longer than the specified deadline"
    assert run.root.finished_at - run.root.started_at < 20


@needs_namespaces
def test_an_image_mount_shows_a_host_folder_read_only_and_copies_nothing(tmp_path):
    """``mounts:`` in the image map: the pod reads the host folder at the image path, cannot write it, and the
    pod's folder holds no copy (a Python environment is mounted this way for the step image)."""
    import yaml
    from flowyard_argo.executor.images import ImageError, ImageMap
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.executor.workflow import prepare, run_workflow

    host = tmp_path / "host-env"
    host.mkdir()
    (host / "lib.txt").write_text("from the host")
    images = tmp_path / "images.yaml"
    images.write_text(
        yaml.safe_dump({"env-image": {"programs": {"python": "/usr/bin/python3"}, "mounts": {"/opt/env": str(host)}}})
    )
    probe = (
        "import sys\n"
        "print(open('/opt/env/lib.txt').read())\n"
        "try:\n    open('/opt/env/new.txt', 'w')\nexcept OSError as e:\n    print(e.errno)\n"
    )
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "mounted"},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "container": {"image": "env-image", "command": ["python", "-c", probe]}}],
        },
    }
    version = argo_version("4.1.2")
    wf, _ = prepare(doc, version, source="test.yaml")
    run = run_workflow(wf, version, ImageMap.load(str(images)), tmp_path / "run")
    pod = by_display(run)["mounted"]
    assert (tmp_path / "run" / "pods" / pod.pod / "stdout.log").read_text() == "from the host\n30\n"  # EROFS
    assert not (host / "new.txt").exists()
    assert not list((tmp_path / "run" / "pods").rglob("lib.txt"))
    images.write_text(yaml.safe_dump({"env-image": {"mounts": {"/opt/env": str(tmp_path / "absent")}}}))
    with pytest.raises(ImageError, match="mount /opt/env needs an absolute image path and a host folder"):
        ImageMap.load(str(images)).image("env-image")


ROOT_FILES = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: root-files}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: write, template: write}
    - - name: read
        template: read
        arguments: {artifacts: [{name: doc, from: "{{steps.write.outputs.artifacts.result}}"}]}
  - name: write
    script:
      image: python:3.12
      command: [python]
      source: "open('result.txt', 'w').write('it was heads')"
    outputs: {artifacts: [{name: result, path: /result.txt}]}
  - name: read
    inputs: {artifacts: [{name: doc, path: /doc.txt}]}
    container: {image: python:3.12, command: [python, -c, "print(open('/doc.txt').read())"]}
"""


@needs_namespaces
def test_artifacts_at_the_root_of_the_image(tmp_path):
    """Argo's ``conditional-artifacts.yaml`` writes ``/result.txt`` from the default working directory ``/``: the
    emissary executor reads outputs from the image's own filesystem, so a pod's root keeps what it wrote."""
    run = run_manifest(ROOT_FILES, tmp_path)
    assert run.phase.value == "Succeeded", run.message
    read = by_display(run)["read"]
    assert (tmp_path / "pods" / read.pod / "stdout.log").read_text() == "it was heads\n"  # type: ignore[attr-defined]
