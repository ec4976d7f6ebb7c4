"""The docs site: every page is in its navigation, and its getting-started page runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def block_after(text: str, marker: str) -> str:
    """The fenced block right after ``<!-- marker -->``."""
    match = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)\n```", text, re.DOTALL)
    assert match, f"no block after <!-- {marker} -->"
    return match.group(1)


def nav_pages(nav: list) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert nav_pages(config["nav"]) == pages


def test_the_readme_links_to_the_site() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/getting-started.md)" in readme and "mkdocs serve" in readme


def test_getting_started_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    (tmp_path / "hello.yaml").write_text(block_after(text, "getting-started:pipeline") + "\n", encoding="utf-8")
    outputs = []
    for line in block_after(text, "getting-started:commands").splitlines():
        argv = shlex.split(line)
        assert argv[0] == "flowyard"
        r = CliRunner().invoke(cli, argv[1:], catch_exceptions=False)
        assert r.exit_code == 0, f"{line}\n{r.output}"
        outputs.append(r.output)
    assert "hello.yaml: valid (2 steps)" in outputs[0]
    assert "greet" in outputs[1] and "gather" in outputs[1]
    assert "2 items: 2 succeeded" in outputs[2] and "1 item: 1 succeeded" in outputs[3]
    assert outputs[4].count("hello-") == 2
    counts = sorted(p.read_text().split() for p in tmp_path.glob(".flowyard/runs/*/tasks/gather/*/count.txt"))
    assert counts == [["000000"], ["000000", "000001"]]
