"""flowyard logs reads a log a chunk at a time and prints the lines reading it whole would print."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from flowyard.logs import read_run_logs
from flowyard.runs import RunDirectory

PIECES = ["a", "bc", "\n", "\r", "\r\n", "é", "€", "\u2028", "\x0c", " ", "\n\n"]


@pytest.mark.parametrize("seed", range(20))
def test_lines_read_in_chunks_are_the_lines_of_the_whole_text(tmp_path: Path, monkeypatch, seed: int) -> None:
    from flowyard import logs

    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 300)))
    folder = tmp_path / "run" / "tasks" / "s"
    folder.mkdir(parents=True)
    (folder / "stdout.log").write_bytes(text.encode())
    real_lines = logs._lines
    monkeypatch.setattr(logs, "_lines", lambda path: real_lines(path, chunk=64))
    got = list(read_run_logs(RunDirectory(tmp_path / "run")))
    assert got == [f"s: {line}" for line in text.splitlines()]
