"""A container's ``env`` ``valueFrom`` (``secretKeyRef``, ``configMapKeyRef``) and ``envFrom`` (``secretRef``,
``configMapRef``, ``prefix``, ``optional``), resolved as the kubelet resolves them; secret values never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import needs_namespaces
from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

pytestmark = needs_namespaces

TOKEN = "s3cr3t-T0ken-9f2a"
MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{LEVEL: debug, "bad key": x, mode: fast}}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: envs}}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo token=$TOKEN tail=${{TOKEN#s3cr3t-}} user=$DB_user level=$LEVEL cfg=$CFG_mode plain=$PLAIN mode=$mode opt=${{OPT-unset}}; echo $TOKEN >&2"]
      envFrom:
      - configMapRef: {{name: settings}}
      - secretRef: {{name: db}}
        prefix: DB_
      - secretRef: {{name: absent, optional: true}}
      - configMapRef: {{name: settings}}
        prefix: CFG_
      env:
      - {{name: PLAIN, value: plain}}
      - {{name: mode, value: env-wins}}
      - name: TOKEN
        valueFrom: {{secretKeyRef: {{name: api, key: token}}}}
      - name: OPT
        valueFrom: {{secretKeyRef: {{name: api, key: nothing, optional: true}}}}
{extra}"""


def _secrets(folder: Path) -> Path:
    for name, data in {"api": {"token": TOKEN}, "db": {"user": "admin", "pass": "pw-77x"}}.items():
        (folder / "secrets" / name).mkdir(parents=True)
        for key, value in data.items():
            (folder / "secrets" / name / key).write_text(value + "\n")
    return folder / "secrets"


def _pod_folder(folder: Path) -> Path:
    pod = next(n["podName"] for n in workflow_status("envs")["nodes"].values() if n.get("podName"))
    return folder / ".flowyard/runs/envs/pods" / pod


def test_env_from_secrets_and_configmaps_reaches_the_pod_masked_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = _secrets(tmp_path)
    result = run_in_fresh_folder(
        tmp_path, monkeypatch, MANIFEST.format(extra=""), "wf.yaml", "-O", f"secrets={secrets}"
    )
    assert result.exit_code == 0, result.output
    pod = _pod_folder(tmp_path)
    # the pod had the values (a part of the token shows it), envFrom first, prefixes applied, the optional ones
    # absent; even the pod's own log is masked (the secret db's user is a secret too)
    said = "token=*** tail=T0ken-9f2a user=*** level=debug cfg=fast plain=plain mode=env-wins opt=unset\n"
    assert (pod / "stdout.log").read_text() == said
    events = (pod / "events.log").read_text()
    assert "Keys [bad key] from the EnvFrom configMap default/settings were skipped" in events
    assert "Keys [CFG_bad key] from the EnvFrom configMap default/settings were skipped" in events
    assert json.loads((pod / "pod.json").read_text())["env"]["TOKEN"] == "***"
    assert json.loads((pod / "pod.json").read_text())["env"]["LEVEL"] == "debug"
    # nowhere a user or the run folder shows it, save the pod's own raw streams
    assert TOKEN not in result.output and "pw-77x" not in result.output
    run = tmp_path / ".flowyard/runs/envs"
    shown = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.name == "stdout.log" and p.parent != pod for p in shown)  # the task's logs
    for path in shown:
        text = path.read_bytes().decode("utf-8", "replace")
        assert TOKEN not in text and "pw-77x" not in text, path
    for name in ("run.json", "journal.jsonl", "workflow.json"):
        assert (run / name).is_file()
    from click.testing import CliRunner
    from flowyard._cli import cli

    for command in (["logs", "envs"], ["status", "envs"]):
        shown_later = CliRunner().invoke(cli, command, catch_exceptions=False)
        assert shown_later.exit_code == 0, shown_later.output
        assert TOKEN not in shown_later.output and "pw-77x" not in shown_later.output
    assert "tail=T0ken-9f2a" in CliRunner().invoke(cli, ["logs", "envs"]).output
    task_logs = [p.read_text() for p in shown if p.name in ("stdout.log", "stderr.log")]
    assert task_logs.count(said) == 2 and any(TOKEN not in t and "***" in t for t in task_logs)


def test_the_environment_stands_in_for_a_single_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_SECRET_API_TOKEN", TOKEN)
    manifest = MANIFEST.format(extra="").replace("      - secretRef: {name: db}\n        prefix: DB_\n", "")
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert result.exit_code == 0, result.output
    assert (
        (_pod_folder(tmp_path) / "stdout.log").read_text().startswith("token=*** tail=T0ken-9f2a user= ")
    )  # no db secret: unset
    assert TOKEN not in (tmp_path / ".flowyard/runs/envs/run.json").read_text()
    assert TOKEN not in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "      - name: X\n        valueFrom: {secretKeyRef: {name: api, key: missing}}\n",
            "CreateContainerConfigError: couldn't find key missing in Secret default/api",
        ),
        (
            "      - name: X\n        valueFrom: {configMapKeyRef: {name: settings, key: missing}}\n",
            "CreateContainerConfigError: couldn't find key missing in ConfigMap default/settings",
        ),
        ("", 'CreateContainerConfigError: configmaps "nowhere" not found'),
    ],
)
def test_what_the_kubelet_cannot_resolve_errors_the_node_in_its_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, message: str
) -> None:
    manifest = MANIFEST.format(extra=extra)
    if not extra:  # the first envFrom source names a ConfigMap that does not exist
        manifest = manifest.replace("configMapRef: {name: settings}\n", "configMapRef: {name: nowhere}\n", 1)
    result = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "-O", f"secrets={_secrets(tmp_path)}")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    node = next(n for n in workflow_status("envs")["nodes"].values() if n["type"] == "Pod")
    assert node["phase"] == "Error"
    assert node["message"] == message


def test_field_refs_stay_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = "      - name: NODE\n        valueFrom: {fieldRef: {fieldPath: spec.nodeName}}\n"
    result = run_in_fresh_folder(tmp_path, monkeypatch, MANIFEST.format(extra=extra), "wf.yaml")
    assert result.exit_code == 2
    assert "env NODE valueFrom.fieldRef (no pod object or node to read it from)" in result.output
    assert not Path(".flowyard/runs/envs").exists()


def test_a_resumed_run_resolves_its_secrets_again_and_masks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner
    from flowyard._cli import cli

    manifest = MANIFEST.format(extra="").replace("      - secretRef: {name: db}\n        prefix: DB_\n", "")
    first = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml")
    assert first.exit_code == 1, first.output
    node = next(n for n in workflow_status("envs")["nodes"].values() if n["type"] == "Pod")
    assert node["message"] == 'CreateContainerConfigError: secrets "api" not found'
    monkeypatch.setenv("FLOWYARD_SECRET_API_TOKEN", TOKEN)
    again = CliRunner().invoke(cli, ["run", "--resume", "envs", "--backend", "argo"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert (_pod_folder(tmp_path) / "stdout.log").read_text().startswith("token=*** tail=T0ken-9f2a ")
    run = tmp_path / ".flowyard/runs/envs"
    for path in [p for p in run.rglob("*") if p.is_file()]:
        assert TOKEN not in path.read_bytes().decode("utf-8", "replace"), path
    assert TOKEN not in again.output
