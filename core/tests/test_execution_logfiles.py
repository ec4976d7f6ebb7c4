"""Logs read and rewritten a chunk at a time give what reading them whole gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from flowyard.execution import logfiles
from flowyard.runs import redact


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_redacting_in_chunks_masks_secrets_split_across_chunks(tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(logfiles, "CHUNK", chunk)
    rng = random.Random(chunk)
    secrets = ["s3cr3t-value", "tok"]
    text = "".join(rng.choice(["ab ", "s3cr3t-value", "to", "k", "\n", "é", "s3cr3t-"]) for _ in range(400))
    log = tmp_path / "stderr.log"
    log.write_text(text, encoding="utf-8")
    logfiles.redact_file(str(log), secrets)
    assert log.read_text(encoding="utf-8") == redact(text, secrets)

    captured = logfiles.CapturedLog(str(tmp_path / "stdout.log"), secrets, lambda: None, truncate=True)
    for i in range(0, len(text), 5):
        captured.append(text[i : i + 5])
    captured.close()
    assert (tmp_path / "stdout.log").read_text(encoding="utf-8") == redact(text, secrets)


def test_a_log_without_a_secret_in_it_is_left_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    log.write_text("nothing to hide\n")
    before = log.stat().st_ino
    logfiles.redact_file(str(log), ["s3cr3t"])
    assert log.stat().st_ino == before and log.read_text() == "nothing to hide\n"
    assert [p.name for p in tmp_path.iterdir()] == ["stdout.log"]


def test_the_tail_of_a_log_is_its_last_bytes(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    log.write_bytes(b"x" * 10_000 + b"last line\n")
    assert logfiles.tail(str(log), 10) == b"last line\n"
    assert logfiles.tail(str(log), 20_000) == log.read_bytes()
