"""The commands the manifests give Argo, run for real here (argv substituted as Argo would, no shell).

No cluster exists here, but the containers' commands are ours: the item-numbering helper and
flowyard's step entrypoint. Running them proves the fan-out numbering, the index envelopes, and
the gathering of an aggregate (unordered, failed items missing) back into item order.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

from flowyard.testing.contract import canonical_ir
from flowyard_argo.executor.expansion import expand_all

from .conftest import manifest, task, template


def run_template(doc: dict, name: str, params: dict[str, str], root: Path, workflow: dict[str, str] | None = None):
    """Run a container template's command + args as Argo would: placeholders replaced in each argv
    element, ``/flowyard/`` and ``/tmp/flowyard`` mapped under ``root``."""
    t = template(doc, name)
    argv = t["container"]["command"] + t["container"].get("args", [])
    values = {f"inputs.parameters.{k}": v for k, v in params.items()}
    values |= {f"workflow.parameters.{k}": v for k, v in (workflow or {}).items()}

    def one(tag: str) -> str:
        wrapped = re.fullmatch(r"=sprig\.replace\('\$', '\$\$', (.*)\)", tag, re.S)  # flowyard_argo.kubelet
        inner = "=" + wrapped.group(1) if wrapped else tag
        item = re.fullmatch(r"=jsonpath\(inputs\.parameters\['([^']+)'\], '\$\.v'\)", inner)
        parameter = re.fullmatch(r"=(inputs|workflow)\.parameters\['([^']+)'\]", inner)
        if item:  # a numbered item's field (flowyard_argo.helper); delivery.py models it per version
            value = json.loads(values[f"inputs.parameters.{item.group(1)}"])["v"]
        elif parameter:
            value = values[f"{parameter.group(1)}.parameters.{parameter.group(2)}"]
        else:
            value = values[tag]
        return value.replace("$", "$$") if wrapped else value

    def subst(text: str) -> str:
        text = re.sub(r"\{\{([^}]+)\}\}", lambda m: one(m.group(1)), text)
        return text.replace("/tmp/flowyard", str(root / "tmp")).replace("/flowyard/", f"{root}/")

    for art in (t.get("inputs") or {}).get("artifacts") or []:
        if "raw" in art:  # argoexec's init container writes the substituted data to the path
            path = Path(subst(art["path"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(subst(art["raw"]["data"]), encoding="utf-8")
    argv = expand_all([subst(a) for a in argv], {})  # the kubelet's $(VAR) expansion: no variables declared here
    argv[0] = sys.executable
    if argv[1] == "-c":  # the helper writes to fixed paths: point them under root
        argv[2] = argv[2].replace("/tmp/flowyard", str(root / "tmp"))
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=root, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def saved(path: Path) -> str:
    """An output parameter as Argo saves it: the file less one trailing newline (``executor.go``
    ``SaveParameters``)."""
    return path.read_bytes().decode().removesuffix("\n")


def helper_outputs(root: Path) -> tuple[list[dict[str, str]], str]:
    return json.loads((root / "tmp" / "items").read_text()), (root / "tmp" / "count").read_text()


def test_the_helper_numbers_a_parameter_list_and_flattens_fields(tmp_path: Path) -> None:
    doc = manifest(canonical_ir("seed-fanout"))
    helper = task(doc, "activator-items")
    args = {p["name"]: p["value"] for p in helper["arguments"]["parameters"]}
    messages = [{"id": "1", "event": {"msg": "é 1"}}, {"id": "2", "event": {"msg": "two"}}]
    # the parameter's value as a raw argument artifact, written by argoexec's init container to the data path
    assert helper["arguments"]["artifacts"] == [{"name": "data", "raw": {"data": "{{workflow.parameters.messages}}"}}]
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "data").write_text(json.dumps(messages), encoding="utf-8")
    run_template(doc, "flowyard-items-file", args, tmp_path)
    rows, count = helper_outputs(tmp_path)
    assert count == "2"
    assert rows == [
        {"index": "000000", "item": {"v": '{"event":{"msg":"é 1"},"id":"1"}'}, "f0": {"v": '{"msg":"é 1"}'}},
        {"index": "000001", "item": {"v": '{"event":{"msg":"two"},"id":"2"}'}, "f0": {"v": '{"msg":"two"}'}},
    ]


def test_the_helper_refuses_a_non_list_with_a_message(tmp_path: Path) -> None:
    doc = manifest(canonical_ir("parallel-limits"))  # literal lists: the helper's data is an argument
    t = template(doc, "flowyard-items")
    argv = [sys.executable, "-c", t["container"]["command"][2], "enumerate", '{"a": 1}', "-", "[]"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and 'for_each needs a list, got {"a": 1}' in proc.stderr


def test_fan_in_of_values_survives_argos_unordered_aggregate_with_a_failed_item(tmp_path: Path) -> None:
    """double runs per item and writes an index envelope; Argo aggregates what succeeded, in any
    order (argo-workflows 11221); total gets them back in item order with null for the gap."""
    doc = manifest(canonical_ir("fan-in-values"))
    xs = [1, 2, 3, 4]
    envelopes = []
    for i, x in enumerate(xs):
        root = tmp_path / f"item{i}"
        root.mkdir()
        run_template(doc, "double", {"flowyard-item": json.dumps({"v": str(x)}), "flowyard-index": f"{i:06d}"}, root)
        envelopes.append(saved(root / "values" / "out"))
    assert json.loads(envelopes[2]) == {"index": 2, "value": 6}
    del envelopes[1]  # item 1 failed: Argo's aggregate simply lacks it
    random.Random(7).shuffle(envelopes)
    aggregate = json.dumps(envelopes)  # Argo: a JSON list of the parameter strings
    fn_root = tmp_path / "total"
    fn_root.mkdir()
    # total sums what it gets; a None in the list shows the gap was kept in place
    t = template(doc, "total")
    cmd = t["container"]["command"]
    cmd[cmd.index("flowyard.testing.functions:total")] = "flowyard.testing.functions:emit"
    cmd[cmd.index("--collected-file") + 1] = "value"
    run_template(doc, "total", {"xs": aggregate, "flowyard-count-xs": "4"}, fn_root)
    assert json.loads((fn_root / "values" / "out").read_text()) == [2, None, 6, 8]


def test_a_python_step_writes_rendered_values_and_files_where_argo_collects_them(tmp_path: Path) -> None:
    doc = manifest(canonical_ir("fan-in-files"))
    run_template(doc, "write", {"flowyard-item": json.dumps({"v": '{"n":1}'}), "flowyard-index": "000000"}, tmp_path)
    assert json.loads((tmp_path / "outputs" / "out").read_text()) == {"n": 1}
    # the gather step reads the folder Argo downloads from the key prefix: <index>/<file>
    folder = tmp_path / "inputs" / "folder"
    for i, n in enumerate([1, 2]):
        (folder / f"{i:06d}").mkdir(parents=True)
        (folder / f"{i:06d}" / "out").write_text(json.dumps({"n": n}))
    gather = tmp_path / "gather"
    (gather / "inputs").mkdir(parents=True)
    (folder).rename(gather / "inputs" / "folder")
    run_template(doc, "gather", {}, gather)
    assert json.loads((gather / "outputs" / "out").read_text()) == [{"n": 1}, {"n": 2}]
    assert saved(gather / "values" / "count") == "2"


def test_hostile_parameter_text_reaches_a_python_step_byte_for_byte(tmp_path: Path) -> None:
    from flowyard.testing.pipelines import TRICKY

    doc = manifest(canonical_ir("sanitised-names"))
    run_template(doc, "transform-v2", {"value": TRICKY}, tmp_path)
    assert saved(tmp_path / "values" / "out") == TRICKY
