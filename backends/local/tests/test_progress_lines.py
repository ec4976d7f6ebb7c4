"""The progress a user sees off a terminal, through the CLI: the local scheduler's steps shown as core's rows."""

from __future__ import annotations

import re
from pathlib import Path

from flowyard.testing.cli import user_cli

SPEC = """\
apiVersion: flowyard/v1
kind: Pipeline
name: progress-lines
failure_policy: continue
steps:
  items:
    for_each: [0, 1, 2]
    parallelism: 1
    container:
      command: [sh, -c, 'if [ "$0" = 1 ]; then echo "item one broke" >&2; exit 4; fi', "${{ item }}"]
  after:
    after: [items]
    container:
      command: ["true"]
  alone:
    container:
      command: ["true"]
"""


def test_plain_progress_shows_each_step_and_each_failed_item(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = user_cli("run", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in result.stderr.splitlines() if line.startswith("[")]
    assert "● items started (3 tasks)" in lines
    assert "● alone started (1 task)" in lines
    assert "✔ alone succeeded" in lines
    assert any(re.fullmatch(r"✖ items\[1\] failed: .*", line) for line in lines), lines
    assert any(re.fullmatch(r"✖ items failed(: .*)?", line) for line in lines), lines
    assert any(re.fullmatch(r"\S+ after omitted: .*items.*", line) for line in lines), lines
    assert not any(line.startswith("● after started") for line in lines)
