from __future__ import annotations

from pathlib import Path

import pytest
from flowyard._loading import load_ir
from flowyard._params import read_params_file, resolve_params
from flowyard.errors import ParameterError

from .conftest import EXAMPLES


@pytest.fixture
def ir(write_spec):
    return load_ir(
        write_spec("""
        apiVersion: flowyard/v1
        name: p
        parameters:
          s: {default: hi}
          n: {type: number, default: 1.5}
          b: {type: bool, default: false}
          o: {type: object, default: {}}
          l: {type: list, default: []}
          req: {type: integer}
        steps: {a: {container: {command: [echo]}}}
    """)
    )


def test_overrides_parse_by_type(ir) -> None:
    got = resolve_params(ir, ["s=42", "n=2", "b=true", 'o={"k": [1]}', "l=[1,2]", "req=7"])
    assert got == {"s": "42", "n": 2, "b": True, "o": {"k": [1]}, "l": [1, 2], "req": 7}


def test_strings_are_taken_verbatim(ir) -> None:
    tricky = 'it\'s "$(rm -rf /)" `x`\nnext ünïcödé'
    assert resolve_params(ir, [f"s={tricky}", "req=1"])["s"] == tricky


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["req=1", "ghost=1"], "unknown parameter 'ghost'"),
        ([], "missing required parameter(s): req"),
        (["req=x"], "expected JSON for a parameter of type integer"),
        (["req=1.5"], "parameter 'req' is of type integer"),
        (["req"], "expected --param NAME=VALUE"),
        (["req=1", "o=[1]"], "parameter 'o' is of type object"),
    ],
)
def test_bad_overrides_are_named(ir, overrides, message) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_params(ir, overrides)


def test_params_file_then_overrides(ir, tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("req: 3\ns: from-file\n")
    got = resolve_params(ir, ["s=from-flag"], read_params_file(f))
    assert (got["req"], got["s"]) == (3, "from-flag")


def test_params_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such params file"):
        read_params_file(tmp_path / "none.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ParameterError, match="expected a mapping"):
        read_params_file(tmp_path / "list.json")


def test_example_defaults() -> None:
    got = resolve_params(load_ir(EXAMPLES / "fanout.yaml"))
    assert [m["id"] for m in got["messages"]] == ["1", "2"]
