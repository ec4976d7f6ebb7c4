"""The CLI as a user starts it: a fresh working folder, nothing configured (no ``FLOWYARD_HOME``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from flowyard.testing.cli import user_cli

__all__ = ["default_runs", "run_json", "user_cli"]


def run_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The run summary ``--json`` printed."""
    return dict(json.loads(proc.stdout))


def default_runs(cwd: Path) -> list[Path]:
    """The run folders under the default ``./.flowyard/runs`` of ``cwd``."""
    root = cwd / ".flowyard" / "runs"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
