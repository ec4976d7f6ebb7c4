"""Secrets and ``env`` reach a step the same way in every execution mode, and secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from .as_user import default_runs, run_json, user_cli

TOKEN = "s3cr3t-token-2fa9c1"  # as long as a real credential: longer than the minimum masked length

STEP_MODULE = """
import hashlib
import os
import sys


def use_token():
    token = os.environ.get("API_TOKEN", "")
    print("token is", token)
    print("token again", token, file=sys.stderr)
    return {"digest": hashlib.sha256(token.encode()).hexdigest(), "echo": "echo " + token}


def greeting(x=None):
    return os.environ.get("GREETING", "<unset>") + "/" + os.environ.get("ITEM_TAG", "<unset>")
"""

PYTHON_SECRET = """
    name: secret-python
    steps:
      s:
        secrets: [{secret: creds, key: token, env: API_TOKEN}]
        python: {function: "secretsteps:use_token"}
        outputs: {digest: {type: string}, echo: {type: string}}
    outputs: {digest: "${{ steps.s.outputs.digest }}", echo: "${{ steps.s.outputs.echo }}"}
"""

COMMAND_SECRET = """
    name: secret-command
    steps:
      s:
        secrets: [{secret: creds, key: token, env: API_TOKEN}]
        container:
          command: [python3, -c, "import hashlib, json, os, sys; t = os.environ['API_TOKEN']; print('token is', t); print('token again', t, file=sys.stderr); json.dump(hashlib.sha256(t.encode()).hexdigest(), open('digest.json', 'w')); json.dump('echo ' + t, open('echo.json', 'w')); open('f.txt', 'w').write('x')"]
        outputs:
          digest: {type: string, path: digest.json}
          echo: {type: string, path: echo.json}
          f: f.txt
    outputs: {digest: "${{ steps.s.outputs.digest }}", echo: "${{ steps.s.outputs.echo }}"}
"""

MODES = {
    "in-process": (PYTHON_SECRET, ()),
    "python-subprocess": (PYTHON_SECRET, ("-O", "python_subprocess=true")),
    "command": (COMMAND_SECRET, ()),
}


def _everything(proc_out: str, run_dir: Path, cwd: Path) -> str:
    text = proc_out + "".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    text += user_cli("logs", run_dir.name, cwd=cwd).stdout
    return text + user_cli("status", run_dir.name, "--json", cwd=cwd).stdout


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_secret_reaches_the_step_and_never_shows_in_any_mode(spec, tmp_path: Path, mode: str) -> None:
    import hashlib

    text, options = MODES[mode]
    path = spec(text)
    (path.parent / "secretsteps.py").write_text(STEP_MODULE)
    proc = user_cli("run", str(path), "--json", *options, cwd=tmp_path, env={"API_TOKEN": TOKEN})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = default_runs(tmp_path)
    logs = user_cli("logs", run_dir.name, cwd=tmp_path).stdout
    assert "token is ***" in logs and "token again ***" in logs
    assert TOKEN not in _everything(proc.stdout + proc.stderr, run_dir, tmp_path)
    summary = run_json(proc)
    assert summary["outputs"]["digest"] == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert summary["outputs"]["echo"] == "echo ***"


def test_a_secret_shorter_than_the_minimum_is_refused_before_the_run(spec, tmp_path: Path) -> None:
    path = spec(COMMAND_SECRET.replace("secret-command", "extra-diamond"))
    proc = user_cli("run", str(path), cwd=tmp_path, env={"API_TOKEN": "x"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "API_TOKEN" in proc.stderr and "8 characters" in proc.stderr
    assert default_runs(tmp_path) == []


ENV = """
    name: env-python
    steps:
      one:
        env: {GREETING: "hello ${{ params.who }}"}
        python: {function: "secretsteps:greeting"}
        outputs: {out: {type: string}}
      many:
        for_each: [a, b, c, d, e, f, g, h]
        env: {GREETING: "hi", ITEM_TAG: "${{ item }}"}
        python: {function: "secretsteps:greeting"}
        inputs: {x: "${{ item }}"}
        outputs: {out: {type: string}}
      plain:
        python: {function: "secretsteps:greeting"}
        outputs: {out: {type: string}}
    parameters: {who: {type: string, default: world}}
    outputs: {one: "${{ steps.one.outputs.out }}", many: "${{ steps.many.outputs.out }}", plain: "${{ steps.plain.outputs.out }}"}
"""


@pytest.mark.parametrize(
    "options",
    [
        pytest.param((), id="in-process"),
        pytest.param(("-O", "python_subprocess=true"), id="subprocess"),
    ],
)
def test_a_steps_env_reaches_its_python_function_and_no_other(spec, tmp_path: Path, options: tuple[str, ...]) -> None:
    path = spec(ENV)
    (path.parent / "secretsteps.py").write_text(STEP_MODULE)
    proc = user_cli("run", str(path), "--json", *options, cwd=tmp_path, env={"GREETING": "", "ITEM_TAG": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = run_json(proc)["outputs"]
    assert outputs["one"] == "hello world/"
    assert outputs["many"] == [f"hi/{x}" for x in "abcdefgh"]
    assert outputs["plain"] == "/"  # the host's (empty) values: another step's env never leaks in
