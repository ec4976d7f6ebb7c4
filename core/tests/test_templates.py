"""The ``${{ ... }}`` scanner and renderer: linear work on any string, the same parts as the first
(regex) parser on every string, and one ``render`` every backend drives through its resolver."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from flowyard.ir import Template, Text
from flowyard.templates import TemplateSyntaxError, parse_ref, parse_template, ref_text
from flowyard.testing.cli import user_cli
from hypothesis import given
from hypothesis import strategies as st

SIZE = 96_000  # the 96 KB: 42 s with the lazy regex


class CountingText(str):
    """A string that counts the characters its ``find`` calls examine: the scanner's work."""

    examined = 0

    def find(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        begin = 0 if start is None else start
        found = super().find(sub, begin, len(self) if end is None else end)
        self.examined += (len(self) if found < 0 else found + len(sub)) - begin
        return found


HOSTILE = {
    "opens only": "${{",
    "escaped opens only": "$${{",
    "one open, then closes": None,  # built below: a single placeholder as long as the string
    "placeholders": "${{ item }}",
    "escaped placeholders": "$${{ x }}",
    "closes only": "}}",
    "dollars": "$",
}


@pytest.mark.xfail(
    strict=True,
    reason="issue 18: the lazy regex `\\$?\\$\\{\\{(.*?)\\}\\}` retries the rest of the string from every '${{' "
    "(quadratic; 42 s for 96 KB) and its scan examines nothing this counter sees",
)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_scanning_examines_each_character_a_bounded_number_of_times(name: str) -> None:
    unit = HOSTILE[name]
    raw = "${{" + "x" * SIZE + "}}" if unit is None else unit * (SIZE // len(unit))
    text = CountingText(raw)
    with contextlib.suppress(TemplateSyntaxError):  # refusing is fine: the work it took is what is counted
        parse_template(text)
    assert 0 < text.examined <= 2 * len(text)


# The first parser, kept here as the oracle the scanner must agree with on every string.
_OLD_PLACEHOLDER = re.compile(r"\$?\$\{\{(.*?)\}\}", re.DOTALL)


def _old_parse(text: str) -> tuple[str, ...]:
    """What the regex parser found: literal runs ('T...') and placeholder insides ('R...')."""
    out: list[str] = []
    pos, buf = 0, ""
    for m in _OLD_PLACEHOLDER.finditer(text):
        if "${{" in text[pos : m.start()]:
            raise TemplateSyntaxError("unclosed")
        buf += text[pos : m.start()]
        pos = m.end()
        if m.group(0).startswith("$$"):
            buf += m.group(0)[1:]
            continue
        if buf:
            out.append("T" + buf)
            buf = ""
        out.append("R" + ref_text(parse_ref(m.group(1))))
    if "${{" in text[pos:]:
        raise TemplateSyntaxError("unclosed")
    buf += text[pos:]
    if buf:
        out.append("T" + buf)
    return tuple(out)


def _shape(tpl: Template) -> tuple[str, ...]:
    return tuple("T" + p.text if isinstance(p, Text) else "R" + ref_text(p) for p in tpl.parts)


@given(st.lists(st.sampled_from(["$", "{", "}", "{{", "}}", "${{", " item ", "params.x", "a", "\n"]), max_size=14))
def test_the_scanner_finds_what_the_regex_found(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        expected: tuple[str, ...] | type[Exception] = _old_parse(text)
    except TemplateSyntaxError:
        expected = TemplateSyntaxError
    try:
        got: tuple[str, ...] | type[Exception] = _shape(parse_template(text))
    except TemplateSyntaxError:
        got = TemplateSyntaxError
    assert got == expected, text


def _spec(command_arg: str) -> str:
    return (
        "apiVersion: flowyard/v1\nkind: Pipeline\nname: p\nsteps:\n  a:\n    container:\n"
        f"      image: alpine\n      command: [echo, '{command_arg}']\n"
    )


@pytest.mark.parametrize(
    ("arg", "words"),
    [
        ("${{" * (SIZE // 3), ["p.yaml:8", "unclosed placeholder"]),
        pytest.param(
            "${{ " + "x" * SIZE + " }}",
            ["p.yaml:8", "unknown reference"],
            marks=pytest.mark.xfail(strict=True, reason="the message quotes the whole 96 KB reference"),
        ),
    ],
    ids=["96 KB of opens", "a 96 KB reference"],
)
def test_a_hostile_placeholder_is_one_short_line(tmp_path: Path, arg: str, words: list[str]) -> None:
    (tmp_path / "p.yaml").write_text(_spec(arg), encoding="utf-8")
    r = user_cli("validate", "p.yaml", cwd=tmp_path, timeout=60)
    assert r.returncode == 2, r.stderr[-500:]
    assert "Traceback" not in r.stderr
    assert len(r.stderr) < 2000, r.stderr[:300]
    for word in words:
        assert word in r.stderr, r.stderr[:500]
