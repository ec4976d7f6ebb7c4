"""Volumes as folders bound at their ``volumeMounts``: a claim (``volumeClaimTemplates`` or an existing
``persistentVolumeClaim``) is one folder of the run, shared by its pods; an ``emptyDir`` one folder per pod; a
``configMap`` a folder of the map's keys; other kinds refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import needs_namespaces
from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

pytestmark = needs_namespaces

TWO_STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: vols}}
spec:
  entrypoint: main
  {volumes}
  templates:
  - name: main
    steps:
    - - {{name: write, template: write}}
    - - {{name: read, template: read}}
  - name: write
    container:
      image: busybox
      command: [sh, -c, "grep -q ' /mnt/vol ' /proc/mounts && echo hello > /mnt/vol/sub/note.txt"]
      volumeMounts: [{{name: work, mountPath: /mnt/vol}}]
    outputs:
      artifacts: [{{name: note, path: /mnt/vol/sub/note.txt}}]
  - name: read
    container:
      image: busybox
      command: [sh, -c, "cat /mnt/data/note.txt || echo none"]
      volumeMounts: [{{name: work, mountPath: /mnt/data, subPath: sub}}]
"""
CLAIM_TEMPLATE = "volumeClaimTemplates: [{metadata: {name: work}, spec: {accessModes: [ReadWriteOnce]}}]"


def _logs(folder: Path, display: str) -> str:
    node = next(n for n in workflow_status("vols")["nodes"].values() if n["displayName"] == display)
    return (folder / ".flowyard/runs/vols/pods" / node["podName"] / "stdout.log").read_text()


@pytest.mark.parametrize(
    ("volumes", "read"),
    [
        (CLAIM_TEMPLATE, "hello\n"),
        ("volumes: [{name: work, persistentVolumeClaim: {claimName: existing}}]", "hello\n"),
        ("volumes: [{name: work, emptyDir: {}}]", "none\n"),  # Kubernetes makes an emptyDir per pod
    ],
)
def test_a_volume_is_a_mounted_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, volumes: str, read: str) -> None:
    manifest = TWO_STEPS.format(volumes=volumes).replace("echo hello", "mkdir -p /mnt/vol/sub && echo hello")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 0, result.output
    assert _logs(tmp_path, "read") == read
    saved = tmp_path / ".flowyard/runs/vols/artifacts"
    assert [p.read_text() for p in saved.glob("*/note")] == ["hello\n"]  # an output artifact inside a volume
    if "claimName" in volumes:
        assert "persistentVolumeClaim existing: an empty folder of this run" in result.output


@pytest.mark.parametrize(
    ("volumes", "named"),
    [
        ("volumes: [{name: work, hostPath: {path: /etc}}]", "hostPath volumes"),
        ("volumes: [{name: other, emptyDir: {}}]", "volumeMount work: no volume of that name"),
    ],
)
def test_a_volume_that_cannot_be_a_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, volumes: str, named: str
) -> None:
    result = run_in_fresh_folder(tmp_path, monkeypatch, TWO_STEPS.format(volumes=volumes), "wf.yaml")
    assert result.exit_code == 2
    assert named in result.output
    assert len(result.output.strip().splitlines()) == 1


CONFIGMAP_VOLUME = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: debug, name: demo}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: vols}
spec:
  entrypoint: main
  volumes:
  - {name: all, configMap: {name: settings}}
  - {name: some, configMap: {name: settings, items: [{key: level, path: conf/level.txt}]}}
  - {name: absent, configMap: {name: missing, optional: true}}
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "cat /cfg/level /cfg/name /part/conf/level.txt; ls /none | wc -l"]
      volumeMounts:
      - {name: all, mountPath: /cfg}
      - {name: some, mountPath: /part}
      - {name: absent, mountPath: /none}
"""


def test_a_configmap_volume_holds_a_file_per_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_in_fresh_folder(tmp_path, monkeypatch, CONFIGMAP_VOLUME, "wf.yaml")
    assert result.exit_code == 0, result.output
    node = workflow_status("vols")["nodes"]["vols"]
    assert (tmp_path / ".flowyard/runs/vols/pods" / node["podName"] / "stdout.log").read_text() == "debugdemodebug0\n"


def test_a_missing_configmap_fails_the_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = CONFIGMAP_VOLUME.replace("{name: missing, optional: true}", "{name: missing}")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 1
    node = workflow_status("vols")["nodes"]["vols"]
    assert node["phase"] == "Error"
    assert node["message"] == 'MountVolume.SetUp failed for volume "absent" : configmap "missing" not found'
