"""Parallelism limits as written, the pool that serves them, and how a stopped fan-out reads."""

from __future__ import annotations

import json
from pathlib import Path

from .as_user import default_runs, run_json, user_cli
from .conftest import overlap


def _fan_out(spec, log: Path, items: int, limit: int, pause: float) -> Path:
    return spec(f"""
        name: limits
        steps:
          work:
            for_each: {list(range(items))}
            parallelism: {limit}
            python: {{function: "steplib:record"}}
            inputs: {{log: "{log}", x: "${{{{ item }}}}", pause: {pause}}}
    """)


def _overlap(log: Path) -> int:
    return overlap([tuple(json.loads(line)[:2]) for line in log.read_text().splitlines()])  # type: ignore[misc]


def test_a_step_limit_above_the_default_pool_runs_that_many_at_once(spec, tmp_path: Path) -> None:
    log = tmp_path / "times.jsonl"
    proc = user_cli("run", str(_fan_out(spec, log, 16, 8, 0.3)), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _overlap(log) == 8
    assert not any("'work'" in n for n in run_json(proc)["notices"])  # nothing bounds the step: nothing to say


def test_a_pool_smaller_than_a_step_limit_is_named_in_a_notice(spec, tmp_path: Path) -> None:
    log = tmp_path / "times.jsonl"
    proc = user_cli("run", str(_fan_out(spec, log, 6, 3, 0.2)), "--json", "-O", "workers=2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _overlap(log) == 2
    (notice,) = [n for n in run_json(proc)["notices"] if "'work'" in n]
    assert "'work'" in notice and "3" in notice and "workers=2" in notice


def test_a_wide_fan_out_runs_its_limit_at_once(spec, tmp_path: Path) -> None:
    """1,000 fast items go to workers in batches; each batch holds one slot, and all 3 slots are used."""
    log = tmp_path / "times.jsonl"
    proc = user_cli("run", str(_fan_out(spec, log, 1000, 3, 0.005)), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _overlap(log) == 3


STOPPED = """
    name: stopped
    steps:
      bad:
        container: {command: [python3, -c, "import time, sys; time.sleep(0.5); sys.exit(3)"]}
      fan:
        for_each: [0, 1, 2, 3, 4, 5]
        parallelism: 1
        container: {command: [python3, -c, "import time; time.sleep(0.8)"]}
"""


def test_a_fan_out_cut_short_by_a_stop_does_not_read_succeeded(spec, tmp_path: Path) -> None:
    proc = user_cli("run", str(spec(STOPPED)), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (run_dir,) = default_runs(tmp_path)
    tree = user_cli("status", run_dir.name, cwd=tmp_path).stdout
    (row,) = [line for line in tree.splitlines() if line.split()[1:2] == ["fan"]]
    assert "omitted" in row and "succeeded" in row  # some items ran, the rest did not
    assert "Succeeded" not in row.split("6 items")[0] and "✔" not in row
    assert run_json(user_cli("status", run_dir.name, "--json", cwd=tmp_path))["status"] == "Failed"


def test_a_pipeline_limit_below_a_step_limit_is_named_in_a_notice(spec, run, tmp_path: Path) -> None:
    path = spec("""
        name: bounded
        parallelism: 2
        steps:
          work: {for_each: [1, 2, 3], parallelism: 3, python: {function: "steplib:echo"}, inputs: {value: 1}}
    """)
    notices = run(path).notices
    assert "step 'work' allows 3 at once; at most 2 run here (the pipeline's parallelism 2)" in notices
