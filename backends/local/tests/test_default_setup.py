"""Nothing configured: a fresh folder, no ``FLOWYARD_HOME``, runs under the relative ``./.flowyard/runs``."""

from __future__ import annotations

from pathlib import Path

from .as_user import default_runs, run_json, user_cli

TIMED_AND_VALUES = """
    name: unconfigured
    failure_policy: continue
    steps:
      a:
        container: {command: [python3, -c, "open('n.json', 'w').write('3')"]}
        outputs: {n: {type: integer, path: n.json}}
      b:
        timeout: 30
        python: {function: "steplib:echo"}
        inputs: {value: 4}
        outputs: {out: {type: integer}}
    outputs: {n: "${{ steps.a.outputs.n }}", out: "${{ steps.b.outputs.out }}"}
"""


def test_timed_python_steps_and_command_values_run_with_nothing_configured(spec, tmp_path: Path) -> None:
    proc = user_cli("run", str(spec(TIMED_AND_VALUES)), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_json(proc)["outputs"] == {"n": 3, "out": 4}
    assert len(default_runs(tmp_path)) == 1
