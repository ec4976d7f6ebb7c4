"""Using the runner day to day: one step alone, hostile parameters, escapes, secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from flowyard.runs import TaskState

from .conftest import EXAMPLES, cli

HOSTILE = [
    'it\'s a "quoted" value',
    "$(touch /tmp/flowyard-pwned) and `touch /tmp/flowyard-pwned2`",
    "line one\nline two\n\ttabbed",
    "ünïcödé — 日本語 — emoji 🚀",
    "; rm -rf / ; echo $HOME ${PATH} *",
    "-dash-first --flag=value",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_parameters_reach_the_command_byte_for_byte(spec, tmp_path: Path, value: str) -> None:
    out = tmp_path / "got.bin"
    path = spec(f"""
        name: hostile
        parameters: {{v: {{type: string}}}}
        steps:
          s:
            container:
              command: [python3, -c, "import sys; open(sys.argv[1], 'wb').write(sys.argv[2].encode())", "{out}", "${{{{ params.v }}}}"]
    """)
    proc = cli("run", str(path), "-p", f"v={value}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == value.encode()
    assert not Path("/tmp/flowyard-pwned").exists() and not Path("/tmp/flowyard-pwned2").exists()


def test_object_items_render_as_compact_sorted_json(spec, run, tmp_path: Path) -> None:
    out = tmp_path / "args.jsonl"
    path = spec(f"""
        name: render
        steps:
          s:
            for_each: [{{"b": 1, "a": {{"z": [1, 2], "y": "é"}}}}]
            container:
              command: [python3, -c, "import sys, json; print(json.dumps(sys.argv[1:]), file=open(sys.argv[1], 'a'))", "{out}", "${{{{ item }}}}", "${{{{ item.a }}}}", "${{{{ item.b }}}}"]
    """)
    assert run(path).state == TaskState.SUCCEEDED
    args = json.loads(out.read_text())
    assert args[1:] == ['{"a":{"y":"é","z":[1,2]},"b":1}', '{"y":"é","z":[1,2]}', "1"]


def test_artifact_path_escaping_the_run_directory_is_refused(spec, tmp_path: Path) -> None:
    path = spec("""
        name: escape
        steps:
          s: {container: {command: ["true"]}, outputs: {o: ../x}}
    """)
    proc = cli("run", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "leaves the step's working directory" in proc.stderr
    assert not (tmp_path / ".flowyard").exists()


def test_secrets_come_from_the_environment_and_are_never_printed(spec, tmp_path: Path) -> None:
    secret = "hunter2-very-secret"
    path = spec("""
        name: secret
        steps:
          s:
            secrets: [{secret: creds, key: token, env: API_TOKEN}]
            container:
              command: [python3, -c, "import os, sys; print('token is', os.environ['API_TOKEN']); print(os.environ['API_TOKEN'], file=sys.stderr); sys.exit(1)"]
    """)
    proc = cli("run", str(path), "--json", cwd=tmp_path, env={"API_TOKEN": secret})
    assert proc.returncode == 1
    run_dir = next((tmp_path / ".flowyard" / "runs").iterdir())
    everything = proc.stdout + proc.stderr
    everything += "".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    everything += cli("logs", run_dir.name, cwd=tmp_path).stdout
    assert secret not in everything
    assert "token is ***" in (run_dir / "tasks/s/stdout.log").read_text()
    missing = cli("run", str(path), "--json", cwd=tmp_path, env={"API_TOKEN": ""} | {})
    assert missing.returncode == 1


def test_a_missing_secret_is_named(spec, run, monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    path = spec("""
        name: nosecret
        steps:
          s: {secrets: [{secret: creds, key: token, env: NOT_SET_TOKEN}], container: {command: ["true"]}}
    """)
    status = run(path)
    assert "secret creds/token is read from the environment variable NOT_SET_TOKEN" in status.tasks[0].message


def test_one_step_alone_with_given_inputs(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"msg": "debug me"}))
    proc = cli(
        "run",
        str(EXAMPLES / "sequential.yaml"),
        "--step",
        "processor",
        "--input",
        f"event={event}",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert [t["step"] for t in status["tasks"] if t["status"] == "Succeeded"] == ["processor"]
    assert json.loads(Path(status["outputs"]["event"]).read_text()) == {"msg": "debug me", "processed": True}


def test_one_fanned_out_step_alone_over_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    for i in range(3):
        (folder / f"{i:06d}").mkdir(parents=True)
        (folder / f"{i:06d}" / "activator_event.json").write_text(json.dumps({"i": i}))
    proc = cli(
        "run",
        str(EXAMPLES / "fanout.yaml"),
        "--step",
        "processor",
        "--input",
        f"for_each={folder}",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = json.loads(proc.stdout)
    docs = [json.loads(Path(p).read_text()) for p in status["outputs"]["events"]]
    assert docs == [{"i": i, "processed": True} for i in range(3)]


def test_one_fanned_out_step_alone_over_a_json_list(tmp_path: Path) -> None:
    items = [{"id": "a", "event": {"k": 1}}, {"id": "b", "event": {"k": 2}}]
    proc = cli(
        "run",
        str(EXAMPLES / "fanout.yaml"),
        "--step",
        "activator",
        "-p",
        f"messages={json.dumps(items)}",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = json.loads(proc.stdout)
    assert [t["step"] for t in status["tasks"] if t["status"] == "Succeeded"] == ["activator", "activator"]


def test_one_step_alone_without_its_inputs_says_which(tmp_path: Path) -> None:
    proc = cli("run", str(EXAMPLES / "sequential.yaml"), "--step", "processor", "--json", cwd=tmp_path)
    assert proc.returncode == 2  # a usage error, said before a run starts
    assert "give it with --input event=" in proc.stderr


def test_script_commands_are_found_in_the_spec_folders_bin(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin:" + os.path.dirname(os.sys.executable)}
    proc = cli("run", str(EXAMPLES / "sequential.yaml"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
