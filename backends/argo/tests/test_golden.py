"""Golden manifests for the seed's two variants and the MinIO variant.

Regenerate on purpose, after reviewing the change: ``FLOWYARD_REGENERATE=1 uv run pytest
backends/argo/tests/test_golden.py``. Compared as parsed YAML, so formatting alone never fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from flowyard._loading import load_ir

from .conftest import manifest

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ["sequential", "fanout", "fanout-minio"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_matches_its_golden_manifest(name: str) -> None:
    ir = load_ir(ROOT / "examples" / "activator_processor" / f"{name}.yaml")
    doc = manifest(ir)  # strictly valid first
    golden = GOLDEN / f"{name}.yaml"
    if os.environ.get("FLOWYARD_REGENERATE") == "1":
        golden.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with FLOWYARD_REGENERATE=1 and review it"
    assert doc == yaml.safe_load(golden.read_text(encoding="utf-8")), (
        f"{name}.yaml compiles differently from {golden}; if the change is intended, regenerate with "
        "FLOWYARD_REGENERATE=1 and review the diff"
    )
