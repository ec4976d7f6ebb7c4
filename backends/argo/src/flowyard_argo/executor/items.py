"""Loop items as the controller holds them: ``wfv1.Item`` (a raw JSON value), its ``String()`` and ``GetType()``.

An item keeps the exact JSON text it was read from (a ``json.RawMessage``); ``String()`` compacts that text with
HTML escaping, strips the quotes of a string and undoes the ``<>&`` escapes (``util/json.Fix``). Escape sequences
inside strings therefore survive: ``"a\\"b"`` formats as ``a\\"b``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from flowyard_argo.executor import gojson


class ItemType(Enum):
    NUMBER = "Number"
    STRING = "String"
    BOOL = "Bool"
    MAP = "Map"
    LIST = "List"


@dataclass(frozen=True)
class Item:
    """One loop item: the raw JSON text of the value."""

    raw: str

    @classmethod
    def of(cls, value: object) -> Item:
        """An item written in the manifest (``withItems``): stored as Go's encoder writes the value."""
        return cls(gojson.marshal(value))

    @property
    def type(self) -> ItemType:
        """``Item.GetType``: the first of integer, float, bool, list, map that parses; else string."""
        raw = self.raw
        if _go_atoi(raw) or _go_parse_float(raw):
            return ItemType.NUMBER
        if raw in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
            return ItemType.BOOL
        if raw == "null" or raw.startswith("["):  # Unmarshal of null into a slice succeeds
            return ItemType.LIST
        if raw.startswith("{"):
            return ItemType.MAP
        return ItemType.STRING

    def string(self) -> str:
        """``Item.String``: compacted raw text, a string's quotes cut off, ``<>&`` un-escaped."""
        text = gojson.compact(self.raw)
        if text.startswith('"'):
            text = text[1:-1]
        return gojson.fix_html(text)

    def marshal(self) -> str:
        """``json.Marshal`` of the item (its ``MarshalJSON`` output compacted with HTML escaping, no fix)."""
        return gojson.compact(self.raw)

    def str_value(self) -> str:
        """``Item.GetStrVal``: the decoded string ("" when the raw text is not a JSON string)."""
        try:
            value = gojson.decode(self.raw)
        except gojson.GoJSONError:
            return ""
        return value if isinstance(value, str) else ""

    def map_value(self) -> dict[str, Item]:
        """``Item.GetMapVal``: member items by key, each keeping its raw text."""
        return {key: Item(raw) for key, raw in gojson.split_object(self.raw).items()}

    def list_value(self) -> list[Item] | None:
        """``Item.GetListVal``; ``None`` for a ``null`` item (a nil slice, which marshals as ``null``)."""
        raws = gojson.split_array(self.raw)
        return None if raws is None else [Item(raw) for raw in raws]


def _go_atoi(raw: str) -> bool:
    """``strconv.Atoi`` succeeds: optional sign, decimal digits, within int64."""
    body = raw[1:] if raw[:1] in "+-" else raw
    if not body or not body.isascii() or not body.isdigit():
        return False
    return -(2**63) <= int(raw) < 2**63


def _go_parse_float(raw: str) -> bool:
    """``strconv.ParseFloat(raw, 64)`` succeeds for a JSON number text (out of range is an error in Go)."""
    if not raw or raw[0] not in "-0123456789" or not raw.isascii():
        return False
    try:
        value = float(raw)
    except ValueError:
        return False
    return not math.isinf(value)


def items_from_param(text: str) -> list[Item]:
    """``json.Unmarshal(withParam, &[]wfv1.Item)``: each element keeps its raw text; ``null`` gives no items."""
    raws = gojson.split_array(text)
    return [] if raws is None else [Item(raw) for raw in raws]


def format_list(items: list[Item] | None) -> str:
    """``fmt.Sprint`` of a ``[]Item``: ``[a b]``, each element through ``Item.String``."""
    return "[" + " ".join(item.string() for item in items or []) + "]"


def marshal_list(items: list[Item] | None) -> str:
    if items is None:
        return "null"
    return "[" + ",".join(item.marshal() for item in items) + "]"


def marshal_map(members: dict[str, Item]) -> str:
    """``json.Marshal(map[string]Item)``: keys sorted, values compacted with HTML escaping."""
    return "{" + ",".join(f"{gojson.marshal_string(k)}:{members[k].marshal()}" for k in sorted(members)) + "}"
