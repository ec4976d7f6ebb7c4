"""YAML (and JSON, through the YAML parser) read within fixed bounds of size, depth and alias expansion.

A spec is data a user may have been handed: its reading must end, in bounded time and memory, with
JSON-shaped data or one error that points at a line. PyYAML alone recurses once per nesting level
(about 600 levels overflow the stack), expands aliases without limit (a 646-byte document can stand for
a billion strings), builds Python-only types (dates, bytes, sets) and raises ``TypeError`` or
``ValueError`` on complex keys and integers of thousands of digits. This loader refuses each of these
by name, with the line it is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["LIMITS", "DocumentError", "Limits", "parse_yaml", "parse_yaml_documents", "read_bounded"]


@dataclass(frozen=True)
class Limits:
    """The bounds every document is read within; far above any real pipeline."""

    document_bytes: int = 4 * 2**20
    depth: int = 64
    alias_nodes: int = 100_000
    string_chars: int = 2**20
    integer_digits: int = 19  # what fits in a signed 64-bit integer, as engines store it


LIMITS = Limits()

_REFUSED_TAGS = {
    "tag:yaml.org,2002:binary": "bytes (!!binary)",
    "tag:yaml.org,2002:set": "a set (!!set)",
    "tag:yaml.org,2002:omap": "an ordered map (!!omap)",
    "tag:yaml.org,2002:pairs": "pairs (!!pairs)",
}


class DocumentError(Exception):
    """What is wrong with a document, the 1-based line it is on and the field it is in (dotted)."""

    def __init__(self, problem: str, line: int | None = None, field: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.field = field


class _NodeError(yaml.constructor.ConstructorError):
    """A constructor's refusal of one node (the field is found from the node once the tree is known)."""

    def __init__(self, problem: str, node: yaml.Node) -> None:
        super().__init__(None, None, problem, node.start_mark)
        self.node = node


def _refuse(problem: str, node: yaml.Node) -> _NodeError:
    return _NodeError(problem, node)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with bounds, no duplicate keys, and JSON-shaped values only."""

    limits: Limits = LIMITS

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._aliases: list[yaml.Node] = []
        self.path: list[str | int] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        opens = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        mark: Any = event.start_mark
        anchor = event.anchor if opens else None
        step = index.value if isinstance(index, yaml.ScalarNode) else index
        if step is not None:
            self.path.append(step)
        if isinstance(event, yaml.AliasEvent) and event.anchor in self._open_anchors:
            raise self._composing_error(f"an alias to itself (*{event.anchor}) would never end", mark)
        if opens and self._depth >= self.limits.depth:
            raise self._composing_error(f"nested more than {self.limits.depth} levels deep", mark)
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if step is not None:
                self.path.pop()
            if anchor is not None:
                self._open_anchors.discard(anchor)
        if isinstance(event, yaml.AliasEvent) and node is not None:
            self._aliases.append(node)
        return node

    def _composing_error(self, problem: str, mark: Any) -> DocumentError:
        shown = [str(p) for p in self.path[:8]] + (["..."] if len(self.path) > 8 else [])
        return DocumentError(problem, mark.line + 1, ".".join(shown))

    def check_alias_expansion(self) -> None:
        """Refuse a document whose aliases stand for more than ``limits.alias_nodes`` nodes."""
        sizes: dict[int, int] = {}
        total = 0
        for node in self._aliases:
            total += _size(node, sizes)
            if total > self.limits.alias_nodes:
                raise _refuse(
                    f"aliases expand to more than {self.limits.alias_nodes:,} values (write the values out instead)",
                    node,
                )

    # --- constructors: JSON-shaped values only -------------------------------------------------

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # merge keys (<<) first: they are not keys of the result
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _refuse("a mapping key must be a plain value, not a list or a mapping", key_node)
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _refuse(f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node)
            seen[key] = key_node.start_mark.line
        return yaml.constructor.BaseConstructor.construct_mapping(self, node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value).lstrip("+-")
        digits = sum(c.isalnum() for c in text)
        allowed = 66 if text.startswith("0b") else self.limits.integer_digits + 2  # a 0x, 0o or 0b prefix
        if digits > allowed:  # int() of thousands of digits is slow, and refused over 4,300
            raise _refuse(f"an integer of {digits} digits (at most {self.limits.integer_digits})", node)
        return super().construct_yaml_int(node)

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        if len(node.value) > self.limits.string_chars:
            raise _refuse(f"a string of {len(node.value):,} characters (at most {self.limits.string_chars:,})", node)
        return super().construct_yaml_str(node)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode, values: Any = None) -> str:  # type: ignore[override]
        return str(node.value)  # a date stays the text it was written as: JSON has no dates

    def construct_refused(self, node: yaml.Node) -> Any:
        raise _refuse(f"{_REFUSED_TAGS[node.tag]} has no JSON form; write a string, list or mapping", node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
_BoundedLoader.add_constructor("tag:yaml.org,2002:str", _BoundedLoader.construct_yaml_str)
_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)
for _tag in _REFUSED_TAGS:
    _BoundedLoader.add_constructor(_tag, _BoundedLoader.construct_refused)


def _size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values a node stands for once its aliases are expanded (each shared node counted once per use)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_size(k, sizes) + _size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


def _path_to(root: yaml.Node, target: yaml.Node) -> str:
    """The dotted field of ``target`` in the tree under ``root`` (each shared node visited once)."""
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return ".".join(str(p) for p in path)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                label = k.value if isinstance(k, yaml.ScalarNode) else "?"
                stack += [(k, path), (v, (*path, label))]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(child, (*path, i)) for i, child in enumerate(node.value)]
    return ""


def _line(e: yaml.MarkedYAMLError) -> int | None:
    mark = e.problem_mark or e.context_mark
    return mark.line + 1 if mark else None


def read_bounded(path: Any, limits: Limits = LIMITS) -> str:
    """A file's text, reading no more than the document limit (a FIFO or /dev/zero ends too).

    Raises ``OSError``, ``UnicodeDecodeError`` or :class:`DocumentError`."""
    with open(path, "rb") as f:
        data = f.read(limits.document_bytes + 1)
    if len(data) > limits.document_bytes:
        raise DocumentError(f"the file is over the limit of {limits.document_bytes:,} bytes")
    return data.decode("utf-8")


def parse_yaml(text: str, limits: Limits = LIMITS) -> tuple[Any, yaml.Node | None]:
    """The data of a single-document YAML text and its node tree (for line numbers).

    Raises :class:`DocumentError`, with the line and field where there are some, for anything that
    is not valid YAML or is out of bounds."""
    found = _parse(text, limits, single=True)
    return found[0] if found else (None, None)


def parse_yaml_documents(text: str, limits: Limits = LIMITS) -> list[Any]:
    """The data of every document of a YAML text (``---`` between them), within the bounds of one
    (an engine's manifest may come with the objects it reads, a ConfigMap beside a Workflow)."""
    return [data for data, _node in _parse(text, limits, single=False)]


def _parse(text: str, limits: Limits, *, single: bool) -> list[tuple[Any, yaml.Node]]:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.document_bytes:
        raise DocumentError(f"{size:,} bytes is over the limit of {limits.document_bytes:,} bytes")
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as e:
        raise DocumentError(f"not valid YAML/JSON: {e}") from None
    loader.limits = limits
    node = None
    found: list[tuple[Any, yaml.Node]] = []
    try:
        while True:
            node = loader.get_single_node() if single else (loader.get_node() if loader.check_node() else None)
            if node is None:
                return found
            loader.check_alias_expansion()
            found.append((loader.construct_document(node), node))
            if single:
                return found
    except _NodeError as e:
        raise DocumentError(str(e.problem), _line(e), _path_to(node, e.node) if node else "") from None
    except yaml.MarkedYAMLError as e:
        raise DocumentError(f"not valid YAML/JSON: {e.problem or e}", _line(e)) from None
    except yaml.YAMLError as e:
        raise DocumentError(f"not valid YAML/JSON: {e}") from None
    finally:
        loader.dispose()
