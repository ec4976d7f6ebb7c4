"""Golden packages for the seed's two variants (the cluster package, as ``compile`` writes it).

Regenerate on purpose, after reviewing the change: ``FLOWYARD_REGENERATE=1 uv run pytest
backends/kubeflow/tests/test_golden.py``. Compared as parsed YAML after normalising the kfp version
strings kfp embeds (``sdkVersion``, the header), so a kfp patch release alone does not fail them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from flowyard._loading import load_ir
from flowyard.testing.contract import canonical_ir
from flowyard.testing.pipelines import CANONICAL_PIPELINES
from flowyard.testing.refusals import expect_refusal
from flowyard_kubeflow import KubeflowBackend

from .kfp_checks import check_package

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"


def normalised(text: str) -> list[dict]:
    text = re.sub(r"kfp-\d+\.\d+\.\d+\S*", "kfp-VERSION", text)
    return [d for d in yaml.safe_load_all(text) if d is not None]


@pytest.mark.parametrize("name", ["sequential", "fanout"])
def test_seed_variant_matches_its_golden_package(name: str, tmp_path: Path) -> None:
    ir = load_ir(ROOT / "examples" / "activator_processor" / f"{name}.yaml")
    text = KubeflowBackend().compile(ir).main.content
    check_package(text, tmp_path)  # strictly valid first
    golden = GOLDEN / f"{name}.yaml"
    if os.environ.get("FLOWYARD_REGENERATE") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with FLOWYARD_REGENERATE=1 and review it"
    assert normalised(text) == normalised(golden.read_text(encoding="utf-8")), (
        f"{name}.yaml compiles differently from {golden}; if intended, regenerate with FLOWYARD_REGENERATE=1"
    )


@pytest.mark.parametrize("name", sorted(CANONICAL_PIPELINES))
def test_every_canonical_package_parses_strictly_loads_and_cross_checks(name: str, tmp_path: Path) -> None:
    backend = KubeflowBackend({"default_image": "registry.example/flowyard-step:0.1"})
    ir = canonical_ir(name)
    if not backend.support(ir).ok:
        expect_refusal(backend, ir)
    check_package(backend.compile(ir).main.content, tmp_path)
