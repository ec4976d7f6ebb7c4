"""docs/plugins.md's contract block is the code's signatures and docstrings, regenerated on purpose."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
REGENERATE = "uv run python tools/contract_docs.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contract_docs", REPO / "tools" / "contract_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["contract_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_the_pages_contract_block_is_the_codes() -> None:
    tool = _tool()
    page = tool.PAGE.read_text(encoding="utf-8")
    fresh = tool.replaced(page, tool.render())
    assert fresh == page, f"docs/plugins.md's contract block is stale: regenerate it with `{REGENERATE}`"


def test_the_block_follows_a_docstring_and_a_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a changed rule in a docstring, or a changed signature, changes the block."""
    from flowyard.backend import Backend
    from flowyard.execution import pool

    tool = _tool()
    before = tool.render()
    monkeypatch.setattr(Backend._run, "__doc__", "Run it, and a new rule.")
    assert "Run it, and a new rule." in tool.render()

    def room(self: object, group: str, group_limit: int | None = None, spare: int = 0) -> int:
        return 0

    monkeypatch.setattr(pool.WorkerPool, "room", room)
    after = tool.render()
    assert "WorkerPool.room(group: str, group_limit: int | None = None, spare: int = 0) -> int" in after
    assert after != before


def test_it_covers_the_contract_and_the_execution_package() -> None:
    block = _tool().render()
    for heading in (
        "Backend._run",
        "Backend.compile",
        "flowyard.requests.LogQuery",
        "flowyard.execution.pool.WorkerPool",
    ):
        assert f"`{heading}`" in block
    for module in ("journal", "logfiles", "pool", "processes", "progress", "streams"):
        assert f"#### `flowyard.execution.{module}`" in block
    assert "(no docstring)" not in block
