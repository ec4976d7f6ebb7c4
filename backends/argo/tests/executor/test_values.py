"""The value model: Go's JSON and quoting, ``Item.String()`` and ``processItem`` per pinned Argo version.

Expected values are worked out from the controller's source (``item.go``, ``operator.go`` ``processItem``,
``util/template/simple_template.go``) as documented in docs/backends/argo-executor.md.
"""

from __future__ import annotations

import pytest
from flowyard_argo.executor import gojson
from flowyard_argo.executor.items import Item, ItemType, items_from_param
from flowyard_argo.executor.loops import LoopError, expand_sequence, loop_items, process_item
from flowyard_argo.executor.template import TemplateError, replace_json, replace_tags
from flowyard_argo.executor.versions import argo_version

V3 = argo_version("3.6.19")
V37 = argo_version("3.7.9")
V4 = argo_version("4.1.2")
ALL = [V3, V37, V4]
BODY = {"name": "t", "template": "echo", "arguments": {"parameters": [{"name": "m", "value": "{{item}}"}]}}


def arg_of(version, raw: str, tag: str = "{{item}}") -> tuple[str, str]:
    body = {**BODY, "arguments": {"parameters": [{"name": "m", "value": tag}]}}
    name, obj = process_item(body, "t", 0, Item(raw), {}, version)
    return name, obj["arguments"]["parameters"][0]["value"]


# -- Go's encoding/json and strconv.Quote ------------------------------------------------------------------------


def test_marshal_sorts_keys_escapes_html_and_writes_go_numbers():
    assert gojson.marshal({"b": 1, "a": [True, None, 1.5]}) == '{"a":[true,null,1.5],"b":1}'
    assert gojson.marshal("<a&b>") == '"\\u003ca\\u0026b\\u003e"'
    assert gojson.marshal("\x1b\x07\b\f\n\u2028\x7f") == '"\\u001b\\u0007\\b\\f\\n\\u2028\x7f"'
    assert [gojson.format_float(f) for f in (1.0, 1e21, 1e20, 1e-7, 1.5e-7, 0.000001, -2.5, 123456789.125)] == [
        "1",
        "1e+21",
        "100000000000000000000",
        "1e-7",
        "1.5e-7",
        "0.000001",
        "-2.5",
        "123456789.125",
    ]


def test_go_quote_uses_go_escapes_json_cannot_read():
    assert gojson.go_quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert gojson.go_quote("\x1b\x07\x0b\x7f") == '"\\x1b\\a\\v\\x7f"'
    assert gojson.go_quote("é\u00ad\U000e0001") == '"é\\u00ad\\U000e0001"'
    assert not gojson.is_valid(gojson.go_quote("\x1b"))


GO_SCANNER_EDGES = [
    "NaN", "-Infinity", "[Infinity]", "1e999", "-0", "01", "1.", ".5", "1e+", " 1 \n", "\u00a01", "\u0661",
    '"\\ud800"', '"\ud800"', '"a\tb"', '"\\x1b"', '"\\u00e9"', '{"a":1,"a":2}', '{"a":1}x', "[1,]", "",
    "[" * 100 + "]" * 100, "\ufeff1", "null", "true ", "tru", '"\x7f"', '{"k":"{{inputs.parameters.x}}"}',
]  # fmt: skip


@pytest.mark.parametrize("text", GO_SCANNER_EDGES, ids=range(len(GO_SCANNER_EDGES)))
def test_is_valid_agrees_with_gos_scanner(text):
    """``is_valid`` asks Python's decoder first: it must never accept what Go's scanner (modelled) rejects."""
    try:
        gojson.check_valid(text)
    except gojson.GoJSONError:
        go = False
    else:
        go = True
    assert gojson.is_valid(text) is go


def test_scanner_messages_are_gos():
    with pytest.raises(gojson.GoJSONError, match=r"invalid character 'x' in string escape code"):
        gojson.check_valid('"\\x1b"')
    with pytest.raises(gojson.GoJSONError, match=r"invalid character 'a' in string escape code"):
        gojson.check_valid('"\\a"')
    with pytest.raises(gojson.GoJSONError, match="unexpected end of JSON input"):
        gojson.check_valid("[1,")
    with pytest.raises(gojson.GoJSONError, match=r"invalid character 'N' looking for beginning of value"):
        gojson.check_valid("NaN")


# -- Item.String() and GetType() ----------------------------------------------------------------------------------


def test_item_string_keeps_escapes_compacts_and_fixes_html():
    assert Item('"a\\"b"').string() == 'a\\"b'
    assert Item('{ "k" : "<&>" }').string() == '{"k":"<&>"}'
    assert Item('"\\u001b"').string() == "\\u001b"
    assert Item('"x\u2028y"').string() == "x\\u2028y"  # U+2028 is escaped by Marshal and not fixed back
    assert Item("1.50").string() == "1.50"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("1", ItemType.NUMBER),
        ("1.5e3", ItemType.NUMBER),
        ("1e400", ItemType.STRING),
        ("true", ItemType.BOOL),
        ("null", ItemType.LIST),
        ("[1]", ItemType.LIST),
        ('{"a":1}', ItemType.MAP),
        ('"1"', ItemType.STRING),
    ],
)
def test_item_type_follows_get_type_order(raw, kind):
    assert Item(raw).type is kind


def test_with_items_are_stored_as_go_encodes_them():
    assert [Item.of(v).raw for v in (1.0, 1e21, "a<b", {"b": 1, "a": 2})] == [
        "1",
        "1e+21",
        '"a\\u003cb"',
        '{"a":2,"b":1}',
    ]


# -- processItem per version --------------------------------------------------------------------------------------

OBJECTS = '[{"id": 1, "event": {"msg": "run <1> & go"}, "text": "say \\"hi\\"\\n", "path": "C:\\\\tmp"}]'


@pytest.mark.parametrize("version", ALL, ids=lambda v: v.name)
def test_map_item_fields_arrive_as_item_string(version):
    (item,) = items_from_param(OBJECTS)
    body = {
        **BODY,
        "arguments": {
            "parameters": [{"name": k, "value": "{{item." + k + "}}"} for k in ("id", "event", "text", "path")]
            + [{"name": "all", "value": "{{item}}"}]
        },
    }
    name, obj = process_item(body, "t", 0, item, {}, version)
    got = {p["name"]: p["value"] for p in obj["arguments"]["parameters"]}
    assert got["id"] == "1"
    assert got["event"] == '{"msg":"run <1> & go"}'
    assert got["text"] == 'say \\"hi\\"\\n'  # the JSON escapes reach the container as text
    assert got["path"] == "C:\\\\tmp"
    assert (
        got["all"]
        == '{"event":{"msg":"run \\u003c1\\u003e \\u0026 go"},"id":1,"path":"C:\\\\tmp","text":"say \\"hi\\"\\n"}'
    )
    assert name == 't(0:event:{"msg":"run <1> & go"},id:1,path:C:\\\\tmp,text:say \\"hi\\"\\n)'


@pytest.mark.parametrize(
    ("raw", "v3", "v4"),
    [
        ('"say \\"hi\\""', 'say \\"hi\\"', 'say "hi"'),
        ('"back\\\\slash"', "back\\\\slash", "back\\slash"),
        ('"line\\nbreak"', "line\\nbreak", "line\nbreak"),
        ('"a&b<c>"', "a&b<c>", "a&b<c>"),
        ('"\\u001b[1m"', "\\u001b[1m", LoopError("invalid character 'x' in string escape code")),
        ('"bell\\u0007"', "bell\\u0007", LoopError("invalid character 'a' in string escape code")),
        ("2.50", "2.50", "2.50"),
        ("true", "true", "true"),
        ("null", "null", "null"),
        ('[1, "a"]', '[1,"a"]', '[1,"a"]'),
    ],
)
def test_item_substitution_per_version(raw, v3, v4):
    for version, expected in ((V3, v3), (V37, v3), (V4, v4)):
        if isinstance(expected, Exception):
            with pytest.raises(LoopError, match=str(expected.args[0])):
                arg_of(version, raw)
        else:
            assert arg_of(version, raw)[1] == expected, version.name


def test_child_names():
    assert arg_of(V4, '"a(b)"')[0] == "t(0:ab)"
    assert arg_of(V4, "null")[0] == "t(0:[])"
    assert arg_of(V4, '[1, "a"]')[0] == "t(0:[1 a])"
    assert arg_of(V4, '"q\\"x"')[0] == 't(0:q\\"x)'


def test_with_param_errors_as_the_controller_words_them():
    with pytest.raises(
        LoopError, match=r"withParam value could not be parsed as a JSON list: \{\}: json: cannot unmarshal object"
    ):
        loop_items({"withParam": " {} "})
    assert loop_items({"withParam": "null"}) == []


def test_with_sequence():
    assert [i.string() for i in expand_sequence({"count": "3", "start": "1", "format": "%02d"})] == ["01", "02", "03"]
    assert [i.string() for i in expand_sequence({"start": 3, "end": 1})] == ["3", "2", "1"]
    assert expand_sequence({"count": 0}) == []
    with pytest.raises(LoopError, match="neither end nor count"):
        expand_sequence({"start": 1})


# -- template replacement --------------------------------------------------------------------------------------


def test_replace_quotes_values_into_json_strings():
    text = gojson.marshal({"args": ["{{inputs.parameters.x}}", "{{ inputs.parameters.x }}", "{{other}}"]})
    out = replace_json(text, {"inputs.parameters.x": 'a"b\n'}, allow_unresolved=True)
    assert gojson.decode(out) == {"args": ['a"b\n', 'a"b\n', "{{other}}"]}
    with pytest.raises(TemplateError, match=r"failed to resolve \{\{other\}\}"):
        replace_tags(text, {"inputs.parameters.x": ""}, allow_unresolved=False)
    with pytest.raises(TemplateError, match="result was invalid JSON"):
        replace_json(text, {"inputs.parameters.x": "\x1b"}, allow_unresolved=True)


def test_nested_tag_and_strict_prefixes():
    assert replace_tags("{{a.{{b}}}}", {"b": "x"}, allow_unresolved=True) == "{{a.x}}"
    with pytest.raises(TemplateError, match=r"failed to resolve \{\{steps.a.outputs.result\}\}"):
        replace_tags('"{{steps.a.outputs.result}}"', {}, allow_unresolved=True, strict_prefixes=("steps", "tasks"))
    kept = replace_tags('"{{steps.a.outputs.artifacts.x}}"', {}, allow_unresolved=True, strict_prefixes=("steps",))
    assert kept == '"{{steps.a.outputs.artifacts.x}}"'
