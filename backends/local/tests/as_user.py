"""The CLI as a user starts it: a fresh working folder, nothing configured (no ``FLOWYARD_HOME``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def user_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``flowyard ARGS`` in ``cwd`` with the caller's environment minus ``FLOWYARD_HOME``, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "flowyard.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def run_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The run summary ``--json`` printed."""
    return dict(json.loads(proc.stdout))


def default_runs(cwd: Path) -> list[Path]:
    """The run folders under the default ``./.flowyard/runs`` of ``cwd``."""
    root = cwd / ".flowyard" / "runs"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
