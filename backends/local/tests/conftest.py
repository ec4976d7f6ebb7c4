from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flowyard._loading import load_ir
from flowyard._params import resolve_params
from flowyard.runs import RunRequest, RunStatus
from flowyard_local import LocalBackend

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLES = REPO / "examples" / "activator_processor"
SPECS = HERE / "specs"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec beside steplib.py (so Python steps import it) and return its path."""
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "steplib.py").write_text((SPECS / "steplib.py").read_text())

    def write(text: str, name: str = "p.yaml") -> Path:
        path = folder / name
        path.write_text("apiVersion: flowyard/v1\n" + textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run(runs: Path) -> Callable[..., RunStatus]:
    """Run a spec in-process on the local backend."""

    def go(
        path: Path | str, params: dict[str, Any] | None = None, options: dict[str, Any] | None = None, **request: Any
    ) -> RunStatus:
        ir = load_ir(path)
        values = resolve_params(ir, (), params or {})
        backend = LocalBackend(options or {})  # its run checks the pipeline and adds the gate's notices
        return backend.run(ir, RunRequest(params=values, runs_root=runs, **request))

    return go


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run the flowyard CLI as a user would, in a separate process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flowyard._cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        **kw,
    )


def overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = cur = 0
    for _, delta in events:
        cur += delta
        best = max(best, cur)
    return best
