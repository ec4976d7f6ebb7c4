"""Loop expansion: ``processItem``, ``generateNodeName`` and ``expandSequence`` from ``workflow/controller``.

A step or task with ``withItems``/``withParam``/``withSequence`` is serialised to JSON once, then for each item the
``item`` tags are replaced and the text parsed back into that child's step or task, named ``name(i:desc)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.items import Item, ItemType, format_list, items_from_param, marshal_list, marshal_map
from flowyard_argo.executor.template import TemplateError, replace_tags, unmarshal_after_replace
from flowyard_argo.executor.versions import ArgoVersion


class LoopError(ValueError):
    """A loop the controller cannot expand (message as it words it)."""


def item_values(item: Item, version: ArgoVersion) -> tuple[dict[str, str], str]:
    """The ``item``/``item.KEY`` values ``processItem`` adds to the scope, and the node-name description."""
    kind = item.type
    if kind in (ItemType.NUMBER, ItemType.BOOL):
        return {"item": item.string()}, item.string()
    if kind is ItemType.STRING:
        value = item.str_value() if version.string_item_decoded else item.string()
        return {"item": value}, item.string()
    if kind is ItemType.MAP:
        members = item.map_value()
        values = {f"item.{key}": member.string() for key, member in members.items()}
        values["item"] = marshal_map(members)
        desc = ",".join(sorted(f"{key}:{member.string()}" for key, member in members.items()))
        return values, desc
    listed = item.list_value()
    return {"item": marshal_list(listed)}, format_list(listed)


def child_name(name: str, index: int, desc: str) -> str:
    """``generateNodeName``: ``name(index:desc)`` with parentheses removed from ``desc``."""
    return f"{name}({index}:{desc.replace('(', '').replace(')', '')})"


def process_item(
    body: Mapping[str, Any],
    name: str,
    index: int,
    item: Item,
    scope: Mapping[str, str | None],
    version: ArgoVersion,
    when_is_false: bool = False,
) -> tuple[str, Any]:
    """One loop child: (its name, its step/task body with the item substituted)."""
    values, desc = item_values(item, version)
    replace_map: dict[str, str | None] = {**scope, **values}
    if when_is_false and version.absent_optionals:
        replace_map = {k: v for k, v in replace_map.items() if v is not None}
    text = gojson.marshal(dict(body))
    replaced = replace_tags(text, replace_map, allow_unresolved=when_is_false, version=version)
    try:
        obj = unmarshal_after_replace(replaced)
    except TemplateError as e:
        raise LoopError(str(e)) from None
    return child_name(name, index, desc), obj


def loop_items(body: Mapping[str, Any]) -> list[Item] | None:
    """The items of a (resolved) step/task, ``None`` when it has no loop."""
    if body.get("withItems"):
        return [Item.of(v) for v in body["withItems"]]
    if body.get("withParam"):
        text = body["withParam"]
        try:
            return items_from_param(text)
        except gojson.GoJSONError as e:
            raise LoopError(f"withParam value could not be parsed as a JSON list: {text.strip()}: {e}") from None
    if body.get("withSequence") is not None:
        return expand_sequence(body["withSequence"])
    return None


_GO_VERB = re.compile(r"%([-+# 0]*)(\d*)([dxXobcsvq])")


def _go_sprintf_int(fmt: str, value: int) -> str:
    """``fmt.Sprintf(format, i)`` for the integer verbs a sequence format uses (``%02d``, ``%x``...)."""

    def one(m: re.Match[str]) -> str:
        flags, width, verb = m.groups()
        py = {"d": "d", "v": "d", "s": "d", "x": "x", "X": "X", "o": "o", "b": "b"}.get(verb, "d")
        return format(
            value,
            f"{'<' if '-' in flags else ''}{'0' if '0' in flags and '-' not in flags else ''}"
            f"{'+' if '+' in flags else ''}{width}{py}",
        )

    return _GO_VERB.sub(one, fmt.replace("%%", "\x00")).replace("\x00", "%")


def expand_sequence(seq: Mapping[str, Any]) -> list[Item]:
    """``expandSequence``: string items from ``start`` to ``end`` (or ``count`` items), up or down."""

    def number(field: str) -> int:
        text = str(seq[field])
        if not re.fullmatch(r"[+-]?\d+", text):
            raise LoopError(f'strconv.Atoi: parsing "{text}": invalid syntax')
        return int(text)

    start = number("start") if seq.get("start") is not None else 0
    if seq.get("end") is not None:
        end = number("end")
    elif seq.get("count") is not None:
        count = number("count")
        if count == 0:
            return []
        end = start + count - 1
    else:
        raise LoopError("neither end nor count was specified in withSequence")
    fmt = seq.get("format") or "%d"
    step = 1 if start <= end else -1
    return [Item('"' + _go_sprintf_int(fmt, i) + '"') for i in range(start, end + step, step)]
