"""The item-list helper: Argo has no loop index, so a small generator task numbers the items.

Argo's own answer to "fan out over a list computed at run time" is a generator step whose output
feeds ``withParam`` (``examples/loops-param-result.yaml``), and its map-reduce example numbers the
parts the same way. flowyard needs the index for two things: the zero-padded key prefix each item
writes its files under (so a later step can take them all as one folder, argo-workflows 934), and
the index carried with each aggregated value (argo-workflows 11221). The helper runs this stdlib
script in ``helper_image``; it reads its arguments, never a shell.

Modes (argv after the script):

- ``enumerate LIST - FIELDS``: ``LIST`` is a JSON list (a parameter or an upstream output).
- ``gather AGGREGATE COUNT FIELDS``: ``AGGREGATE`` is Argo's aggregate of a fanned-out step's
  value output (index envelopes, in any order, failed items missing); items that produced nothing
  are left out, as the local runner omits them.

Each writes ``/tmp/flowyard/items`` (a JSON list of maps: ``index`` zero-padded, ``item``, ``f0``,
``f1``, ... the fields the consumer uses, each as ``{"v": RENDERED}``) and ``/tmp/flowyard/count``.

How a value survives the controller (docs/backends/argo.md, "Fan-out items"): ``processItem`` gives a map
item's members through ``Item.String()``, which keeps JSON escapes, so a member is never the value
itself: it is a small JSON document, and the consumer's argument is ``{{=jsonpath(item.fK, '$.v')}}``,
whose result the controller JSON-encodes into the template and decodes back, byte for byte. The file is
written in printable ASCII with backslashes as ``\u005c`` (``util/json.Fix`` would otherwise turn a
literal ``\u003c`` in a value into ``<``) and DEL as ``\u007f`` (``strconv.Quote`` writes ``\x7f``,
which JSON cannot read). A value holding NUL (no argv can carry it) or ``{{`` (the controller would
substitute it in the pod) is refused by name.
"""

from __future__ import annotations

# Inside the helper's own short-lived container, not on any shared host.
ITEMS_PATH = "/tmp/flowyard/items"  # noqa: S108
COUNT_PATH = "/tmp/flowyard/count"  # noqa: S108
DATA_PATH = "/tmp/flowyard/data"  # noqa: S108  the list as a file (an input artifact): over 131,072 bytes no argv holds it

# The helper reading its list from the file named where the list would be (``flowyard-items-file``).
READ_DATA = "import sys\nsys.argv[2] = open(sys.argv[2], encoding='utf-8').read()\n"

SCRIPT = """\
import json, os, sys
def render(v):
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
def dig(v, path):
    for f in path:
        if isinstance(v, dict) and f in v:
            v = v[f]
        elif isinstance(v, list) and f.isdigit() and int(f) < len(v):
            v = v[int(f)]
        else:
            sys.exit("item has no field %r (it is %s)" % (f, render(v)[:80]))
    return v
mode, data, count, fields = sys.argv[1:5]
if mode == "enumerate":
    try:
        items = json.loads(data)
    except ValueError:  # text, as the output parameter has it: less one trailing newline
        items = data[:-1] if data.endswith("\\n") else data
    if not isinstance(items, list):
        sys.exit("for_each needs a list, got %s" % json.dumps(items)[:80])
    pairs, count = list(enumerate(items)), len(items)
else:
    count, found = int(count), {}
    for text in json.loads(data or "[]"):
        env = json.loads(text) if isinstance(text, str) else text
        found[int(env["index"])] = env["value"]
    pairs = sorted(found.items())
def cell(i, name, v):
    text = render(v)
    for bad, why in (
        ("\\0", "a NUL character, which no argv can carry"),
        ("\\x7b\\x7b", "two opening braces, which Argo would substitute"),
    ):
        if bad in text:
            sys.exit("for_each item %d, %s: the value holds %s: %r" % (i, name, why, text[:80]))
    return {"v": text}
fields = json.loads(fields)
out = []
for i, item in pairs:
    row = {"index": "%06d" % i, "item": cell(i, "item", item)}
    for k, path in enumerate(fields):
        row["f%d" % k] = cell(i, "field " + ".".join(path), dig(item, path))
    out.append(row)
text = json.dumps(out, separators=(",", ":"), ensure_ascii=True)
text = text.replace("\\\\\\\\", "\\\\u005c").replace("\\x7f", "\\\\u007f")
os.makedirs("/tmp/flowyard", exist_ok=True)
open("/tmp/flowyard/items", "w").write(text)
open("/tmp/flowyard/count", "w").write(str(count))
"""
