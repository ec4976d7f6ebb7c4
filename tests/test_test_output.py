"""The suite's own output reads as success: expected refusals pass as checks, real skips stay visible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _pytest(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_expected_refusals_are_counted_in_one_line_not_listed_as_skips() -> None:
    out = _pytest("tests/test_contract_all_backends.py", "-k", "Tutorial")
    assert "SKIPPED" not in out and "skipped" not in out.splitlines()[-1]
    assert "of the passed tests checked an expected refusal" in out


def test_other_skips_stay_visible(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["flowyard.testing.refusals"]\n')
    (tmp_path / "test_tool.py").write_text(
        "import pytest\n\ndef test_needs_a_tool():\n    pytest.skip('the tool is not installed')\n"
    )
    out = _pytest("--rootdir", str(tmp_path), str(tmp_path), cwd=tmp_path)
    assert "SKIPPED [1]" in out and "the tool is not installed" in out
    assert "expected refusal" not in out
