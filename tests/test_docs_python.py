"""docs/python.md cannot drift: its Python examples run, in order, in an empty folder, as a user's
script would (nothing configured, no ``FLOWYARD_HOME``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "python.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    """The fenced ``python`` blocks of a Markdown page, in order."""
    return BLOCK.findall(text)


def test_the_page_has_examples() -> None:
    assert len(python_blocks(PAGE.read_text(encoding="utf-8"))) >= 4


def test_the_examples_run_in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(PAGE.read_text(encoding="utf-8"))):
        exec(compile(block, f"docs/python.md block {i + 1}", "exec"), namespace)
    made = {str(p.relative_to(tmp_path)) for p in tmp_path.iterdir()}
    assert made == {"hello.yaml", "runs", "count.yaml"}  # the runs went where they were told, nowhere else
