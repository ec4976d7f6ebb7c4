"""Fan-out items reach each container's argv byte for byte as the local backend renders them, per Argo version.

The compiled manifest is executed by the executor's value model (see :mod:`.delivery`): the item list the
controller builds, ``processItem`` on each item, then the template and pod substitution passes. The expected
argv is what the local backend runs: each command element rendered with :func:`flowyard.templates.render_value`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flowyard._loading import load_ir
from flowyard._lowering import lower
from flowyard.errors import FlowyardError
from flowyard.ir import ItemRef, ParamRef, PipelineIR, Text
from flowyard.spec import Container, Parameter, Pipeline, Step
from flowyard.templates import dig, render_value
from flowyard_argo.executor.versions import ARGO_VERSIONS, argo_version

from .conftest import manifest
from .delivery import Refused, deliver

ROOT = Path(__file__).resolve().parents[3]
VERSIONS = [argo_version(v) for v in ARGO_VERSIONS]

HOSTILE: list[Any] = [
    {"msg": 'say "hi"', "path": "C:\\dir\\f", "n": 1, "x": 2.5, "ok": True, "none": None},
    {"msg": "line\nbreak\ttab", "path": "\\u003c is not <", "n": -7, "x": 1e21, "ok": False, "none": [1, "a"]},
    {"msg": "<&> é 日本 🎉 \u2028\u2029", "path": "\x1b[31mred\x07", "n": 0, "x": 0.1, "ok": True, "none": {}},
    {
        "msg": "quote ' and \" and \\",
        "path": "del\x7f zero-width\u200b",
        "n": 10**15,
        "x": -0.0,
        "ok": None,
        "none": "",
    },
    {"msg": "$(HOME) $$(X) a$$b $", "path": "$(", "n": 3, "x": 1.5, "ok": True, "none": "$$"},  # the kubelet's $
]


def expected_argv(ir: PipelineIR, step: str, items: list[Any], params: dict[str, Any]) -> list[list[str]]:
    """The local backend's argv for each item: Text as written, references through ``render_value``."""
    command = ir.step(step).container.command  # type: ignore[union-attr]
    out = []
    for item in items:
        argv = []
        for tpl in command:
            parts = []
            for part in tpl.parts:
                if isinstance(part, Text):
                    parts.append(part.text)
                elif isinstance(part, ItemRef):
                    parts.append(render_value(dig(item, part.fields, "item")))
                elif isinstance(part, ParamRef):
                    parts.append(render_value(params[part.name]))
                else:  # pragma: no cover
                    raise AssertionError(part)
            argv.append("".join(parts))
        out.append(argv)
    return out


def hostile_pipeline(items: list[Any], literal: bool) -> Pipeline:
    source = items if literal else "${{ params.items }}"
    command = ["show", "${{ item.msg }}", "${{ item.path }}", "n=${{ item.n }}", "${{ item.x }}"]
    command += ["${{ item.ok }}", "${{ item.none }}", "${{ item }}"]
    return Pipeline(
        name="hostile",
        parameters={} if literal else {"items": Parameter(type="list", default=items)},
        steps={"show": Step(container=Container(command=command, image="alpine:3"), for_each=source)},
    )


@pytest.mark.parametrize("version", VERSIONS, ids=ARGO_VERSIONS)
def test_fanout_example_items_reach_the_activator_as_local_renders_them(version, tmp_path: Path) -> None:
    ir = load_ir(ROOT / "examples" / "activator_processor" / "fanout.yaml")
    doc = manifest(ir)
    messages = ir.parameter("messages").default
    assert deliver(doc, "activator", version, tmp_path) == expected_argv(ir, "activator", messages, {})


# a parameter's value is substituted with strconv.Quote: DEL cannot travel there (refused by name); in a list
# parameter the controls are JSON escapes
PARAMETER_SAFE = [{k: v.replace("\x7f", "") if isinstance(v, str) else v for k, v in item.items()} for item in HOSTILE]


@pytest.mark.parametrize("literal", [True, False], ids=["literal", "parameter"])
@pytest.mark.parametrize("version", VERSIONS, ids=ARGO_VERSIONS)
def test_hostile_items_reach_argv_byte_for_byte(version, literal: bool, tmp_path: Path) -> None:
    items = HOSTILE if literal else PARAMETER_SAFE
    ir = lower(hostile_pipeline(items, literal))
    doc = manifest(ir)
    try:
        delivered = deliver(doc, "show", version, tmp_path)
    except Refused as e:
        pytest.fail(f"the controller would stop the workflow: {e}")
    assert delivered == expected_argv(ir, "show", items, {})


def test_a_parameter_value_argo_cannot_substitute_is_refused_by_name() -> None:
    with pytest.raises(FlowyardError, match=r"parameter 'items': its value holds U\+007F"):
        manifest(lower(hostile_pipeline(HOSTILE, literal=False)))


@pytest.mark.parametrize("bad", ["nul\x00", "{{workflow.name}}"])
def test_an_item_no_argv_can_carry_or_argo_would_substitute_is_refused_by_the_helper(bad: str, tmp_path: Path) -> None:
    """As when the list comes from an upstream step at run time (compile time refuses such a parameter)."""
    doc = manifest(lower(hostile_pipeline([HOSTILE[0]], literal=False)))
    doc["spec"]["arguments"]["parameters"][0]["value"] = json.dumps([{**HOSTILE[0], "msg": bad}])
    with pytest.raises(Refused, match=r"for_each item 0, .*the value holds"):
        deliver(doc, "show", VERSIONS[-1], tmp_path)
