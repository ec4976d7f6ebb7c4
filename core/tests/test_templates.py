"""The ``${{ ... }}`` scanner and renderer: linear work on any string, the same parts as the first
(regex) parser on every string, and one ``render`` every backend drives through its resolver."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from flowyard.ir import InputRef, ItemRef, OutputPathRef, ParamRef, RunStatusRef, Template, Text
from flowyard.templates import (
    TemplateSyntaxError,
    UnrenderableReferenceError,
    parse_ref,
    parse_template,
    ref_text,
    render,
)
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
        ("${{ " + "x" * SIZE + " }}", ["p.yaml:8", "unknown reference"]),
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


class _Naming:
    """A resolver that writes what it was asked for, to see ``render`` route every part."""

    def text(self, text: str) -> str:
        return text.upper()

    def param(self, ref: ParamRef) -> str:
        return f"<param {ref.name}>"

    def item(self, ref: ItemRef) -> str:
        return f"<item {'.'.join(ref.fields)}>"

    def input(self, ref: InputRef) -> str:
        return f"<input {ref.name} {ref.path}>"

    def output_path(self, ref: OutputPathRef) -> str:
        return f"<output {ref.name}>"

    def run_status(self, ref: RunStatusRef) -> str:
        return "<status>"


def test_render_routes_each_part_to_the_resolver_in_order() -> None:
    tpl = parse_template(
        "a ${{ params.p }} ${{ item.x.y }}${{ inputs.i }} ${{ inputs.f.path }} ${{ outputs.o.path }} "
        "${{ run.status }} $${{ params.q }}"
    )
    assert render(tpl, _Naming()) == (
        "A <param p> <item x.y><input i False> <input f True> <output o> <status> ${{ PARAMS.Q }}"
    )


def test_a_step_output_reference_is_never_rendered() -> None:
    with pytest.raises(UnrenderableReferenceError, match=r"steps\.s\.outputs\.o"):
        render(parse_template("x ${{ steps.s.outputs.o }}"), _Naming())
