"""The calibration on Argo's own examples (``benchmarks/calibrate_argo_examples.py``): its smoke subset runs through
the CLI and every file ends where upstream's oracle (its labels, else the expectations table) says it must."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import needs_namespaces

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "benchmarks" / "calibrate_argo_examples.py"


def _calibration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate_argo_examples", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cal = _calibration()


@needs_namespaces
def test_the_smoke_subset_ends_where_upstream_says() -> None:
    if not cal.CORPUS.is_dir():
        pytest.skip(f"{cal.CORPUS} is absent (Argo's examples, shared)")
    table = json.loads(cal.EXPECTED.read_text(encoding="utf-8"))
    judged = {rel: cal.calibrate(cal.CORPUS / rel, rel, 60.0, table)[1] for rel in cal.SMOKE}
    wrong = {rel: f"{o.category}: {o.detail}" for rel, o in judged.items() if o.category not in cal.CATEGORIES[:4]}
    assert not wrong
    assert judged["daemon-nginx.yaml"].category == "refused"
    assert "daemon templates" in cal.feature(judged["daemon-nginx.yaml"].detail)
    assert judged["scripts-javascript.yaml"].category == "needs a program"
    assert judged["exit-handlers.yaml"].category == "failed as designed"  # labelled expected-failure
    assert judged["scripts-python.yaml"].category == "succeeded"
    assert judged["scripts-python.yaml"].nodes  # the node tree was read back from workflow.json


def test_every_file_upstream_does_not_test_has_a_table_entry() -> None:
    if not cal.CORPUS.is_dir():
        pytest.skip(f"{cal.CORPUS} is absent (Argo's examples, shared)")
    table = json.loads(cal.EXPECTED.read_text(encoding="utf-8"))
    missing = []
    for path in sorted(cal.CORPUS.rglob("*.yaml")):
        docs = cal.load(path)
        label = cal.label_of(docs)
        tested = label is None and [d.get("kind") for d in docs] == ["Workflow"]
        if not tested and label != "expected-failure" and str(path.relative_to(cal.CORPUS)) not in table:
            missing.append(path.name)
    assert not missing
    for entry in table.values():
        allowed = entry["category"] if isinstance(entry["category"], list) else [entry["category"]]
        assert set(allowed) <= set(cal.CATEGORIES) and entry.get("reason"), entry


def test_a_run_that_disagrees_with_the_oracle_is_failed() -> None:
    ran = cal.Outcome("x.yaml", "succeeded", "", "Succeeded", {"x": "Succeeded", "x[0].a": "Succeeded"})
    assert cal.judge(ran, None, ["Workflow"], None).category == "succeeded"
    assert cal.judge(ran, "expected-failure", ["Workflow"], None).category == "failed"
    assert cal.judge(ran, "flaky", ["Workflow"], None).category == "failed"  # no table entry
    entry = {"category": "succeeded", "nodes": {"x": "Succeeded", "x[0].a": "Failed"}, "reason": "r"}
    assert "nodes differ" in cal.judge(ran, "flaky", ["Workflow"], entry).detail
    entry["nodes"] = dict(ran.nodes)
    assert cal.judge(ran, "flaky", ["Workflow"], entry).category == "succeeded"
    refused = cal.Outcome("y.yaml", "refused", "spec.templates[0] (a).daemon: daemon templates cannot run here")
    assert cal.judge(refused, None, ["Workflow"], None).category == "refused"
    assert cal.judge(refused, "environment", ["Workflow"], {"category": "succeeded", "reason": "r"}).category == (
        "failed"
    )
    assert cal.feature(refused.detail) == "daemon templates"
