"""flowyard compare: the report in every format, --run agreement, and the HTML rendered by Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flowyard._graph import to_svg
from flowyard._loading import load_ir

from .conftest import EXAMPLES


def flowyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyard._cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_svg_draws_every_step_and_edge() -> None:
    ir = load_ir(EXAMPLES / "fanout.yaml")
    svg = to_svg(ir)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count('class="node"') == 2
    assert svg.count('class="edge"') == 1
    assert 'data-step="activator"' in svg and "×params.messages ≤2" in svg


def test_json_report_with_run(tmp_path: Path) -> None:
    proc = flowyard("compare", str(EXAMPLES / "sequential.yaml"), "--run", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {b["backend"]: b for b in data["backends"]}
    assert {"local", "argo", "kubeflow"} <= set(rows)
    assert rows["local"]["compiles"] and rows["local"]["run"]["state"] == "Succeeded"
    assert rows["local"]["run"]["outputs"] == {"event": {"msg": "activator run", "processed": True}}
    assert "container-steps" in rows["local"]["native"]


def test_argo_shows_what_it_maps_natively_and_what_it_emulates(tmp_path: Path) -> None:
    proc = flowyard("compare", str(EXAMPLES / "fanout.yaml"), "--backends", "argo", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (argo,) = json.loads(proc.stdout)["backends"]
    assert argo["compiles"] and not argo["refused"]
    assert {"fan-in-files", "fan-out-over-fan-out"} <= set(argo["emulated"])  # key prefix, numbered items
    assert {"fan-out", "step-parallelism"} <= set(argo["native"])
    assert argo["objects"]["templates"] == 5  # main, the activator's wrapper, 2 steps, the numbering helper
    assert "activator: at most 2 (its own DAG template)" in argo["semantics"]["parallelism"]


@pytest.mark.parametrize("variant", ["sequential.yaml", "fanout.yaml"])
def test_both_seed_variants_compile_on_all_three_engines_and_local_and_kubeflow_runs_agree(
    variant: str, tmp_path: Path
) -> None:
    proc = flowyard("compare", str(EXAMPLES / variant), "--run", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {b["backend"]: b for b in data["backends"]}
    assert all(rows[name]["compiles"] for name in ("local", "argo", "kubeflow")), {
        n: r["error"] for n, r in rows.items()
    }
    assert rows["local"]["run"]["state"] == rows["kubeflow"]["run"]["state"] == "Succeeded"
    assert rows["local"]["run"]["outputs"] == rows["kubeflow"]["run"]["outputs"] is not None
    # argo runs the compiled manifest through its executor, which runs no image it has no mapping for
    assert rows["argo"]["run"]["state"] == "Error"
    assert "image 'nasa-hsi' has no entry in the image map" in rows["argo"]["run"]["error"]
    assert data["outputs_agree"] is True
    assert rows["kubeflow"]["objects"]["components"] >= 2


def seed_image_map(folder: Path) -> Path:
    """The seed's image on this machine: its two apps (the example's ``bin/``) run by the host's python3."""
    path = folder / "images.yaml"
    programs = {name: ["/usr/bin/python3", f"/opt/seed/{name}"] for name in ("activator", "processor")}
    path.write_text(json.dumps({"nasa-hsi": {"programs": programs, "folders": {"/opt/seed": str(EXAMPLES / "bin")}}}))
    return path


@pytest.mark.parametrize("variant", ["sequential.yaml", "fanout.yaml"])
def test_argo_is_run_through_the_executor_with_the_seed_image_mapped(variant: str, tmp_path: Path) -> None:
    """``-O argo.image_map=FILE``: argo executes its compiled manifest; its documents agree with local's."""
    from flowyard_argo.executor.pods import namespaces_available

    if not namespaces_available():
        pytest.skip("argo's pods need unshare (mount+net namespaces)")
    images = seed_image_map(tmp_path)
    args = ["compare", str(EXAMPLES / variant), "--run", "--json", "--backends", "local,argo"]
    proc = flowyard(*args, "-O", f"argo.image_map={images}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {b["backend"]: b for b in data["backends"]}
    assert rows["argo"]["run"]["state"] == "Succeeded", rows["argo"]["run"]
    assert rows["argo"]["run"]["outputs"] == rows["local"]["run"]["outputs"] is not None
    assert data["outputs_agree"] is True


def test_an_option_for_a_backend_not_compared_is_refused_by_name(tmp_path: Path) -> None:
    proc = flowyard("compare", str(EXAMPLES / "fanout.yaml"), "--backends", "local", "-O", "argo.x=1", cwd=tmp_path)
    assert proc.returncode == 2 and "-O names a backend not compared: argo" in proc.stderr, proc.stderr


def test_markdown_report(tmp_path: Path) -> None:
    proc = flowyard("compare", str(EXAMPLES / "fanout.yaml"), "--format", "markdown", cwd=tmp_path)
    assert proc.stdout.startswith("## `activator-processor-fanout` across engines")
    assert re.search(r"^\| local \| yes \|", proc.stdout, re.M)


def _html(tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    proc = flowyard("compare", str(EXAMPLES / "fanout.yaml"), "--run", "--format", "html", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return out


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    text = _html(tmp_path).read_text()
    assert "<script" not in text
    assert not re.search(r"(src|href)=['\"]?https?:", text)
    assert "@import" not in text and "url(http" not in text
    assert "<svg" in text and "<table class='comparison'>" in text


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed")
    report = _html(tmp_path)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=90
    ).stdout
    assert dom.count('class="node"') == 2  # the graph, as Chromium parsed it
    assert '<table class="comparison">' in dom
    assert dom.count("<tr>") >= 4  # header + three backends
    assert 'data-backend="local"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1200,900", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=90,
    )
    assert shot.exists() and shot.stat().st_size > 10_000  # something was drawn
