"""The cache reuses a task's outputs only when nothing that can change its result changed."""

from __future__ import annotations

from pathlib import Path

from .as_user import run_json, user_cli

COMMAND = """
    name: cached-command
    parameters: {msg: {type: string}, tag: {type: string, default: a}}
    steps:
      s:
        cache: true
        env: {TAG: "tag-${{ params.tag }}"}
        container:
          command: [python3, -c, "import json, os, sys; json.dump(sys.argv[1] + ' ' + os.environ['TAG'], open('o.json', 'w'))", "${{ params.msg }}"]
        outputs: {o: {type: string, path: o.json}}
    outputs: {o: "${{ steps.s.outputs.o }}"}
"""

FUNCTION = """
    name: cached-function
    steps:
      s:
        cache: true
        python: {function: "cachedsteps:answer"}
        outputs: {o: {type: string}}
    outputs: {o: "${{ steps.s.outputs.o }}"}
"""


def _run(path: Path, cwd: Path, *args: str) -> tuple[str, bool]:
    proc = user_cli("run", str(path), "--json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = run_json(proc)
    return summary["outputs"]["o"], summary["tasks"][0]["cached"]


def test_a_changed_parameter_in_the_command_or_env_misses_the_cache(spec, tmp_path: Path) -> None:
    path = spec(COMMAND)
    assert _run(path, tmp_path, "-p", "msg=first") == ("first tag-a", False)
    assert _run(path, tmp_path, "-p", "msg=second") == ("second tag-a", False)
    assert _run(path, tmp_path, "-p", "msg=second", "-p", "tag=b") == ("second tag-b", False)
    assert _run(path, tmp_path, "-p", "msg=first") == ("first tag-a", True)  # the same values: reused


def test_a_changed_function_misses_the_cache(spec, tmp_path: Path) -> None:
    path = spec(FUNCTION)
    module = path.parent / "cachedsteps.py"
    module.write_text("def answer():\n    return 'one'\n")
    assert _run(path, tmp_path) == ("one", False)
    assert _run(path, tmp_path) == ("one", True)
    module.write_text("def answer():\n    return 'changed'\n")
    assert _run(path, tmp_path) == ("changed", False)


def test_a_changed_script_in_the_spec_folders_bin_misses_the_cache(spec, tmp_path: Path) -> None:
    path = spec("""
        name: cached-script
        steps:
          s:
            cache: true
            container: {command: [answer]}
            outputs: {o: {type: string, path: o.json}}
        outputs: {o: "${{ steps.s.outputs.o }}"}
    """)
    script = path.parent / "bin" / "answer"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho '\"one\"' > o.json\n")
    script.chmod(0o755)
    assert _run(path, tmp_path) == ("one", False)
    assert _run(path, tmp_path) == ("one", True)
    script.write_text("#!/bin/sh\necho '\"changed\"' > o.json\n")
    assert _run(path, tmp_path) == ("changed", False)
