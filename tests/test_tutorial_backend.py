"""The docs' tutorial backend: registered through the plugin-manager factory, never installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from flowyard.errors import UnsupportedFeatureError
from flowyard.loading import load_ir
from flowyard.plugins import backend_registry
from flowyard.summary import summarize_ir

from .conftest import EXAMPLES, load_tutorial_backend


def test_registers_through_the_factory_only() -> None:
    module = load_tutorial_backend()
    with_tutorial = backend_registry(plugins=[module])
    assert "makefile" in with_tutorial.names()
    assert with_tutorial.info("makefile").distribution is None
    assert "makefile" not in backend_registry().names()  # never among a user's backends


def test_compiles_variant_1_to_a_makefile_that_round_trips() -> None:
    backend = backend_registry(plugins=[load_tutorial_backend()]).create("makefile")
    ir = load_ir(EXAMPLES / "sequential.yaml")
    compiled = backend.compile(ir)
    assert "processor: activator" in compiled.main.content
    assert backend.summarize(compiled) == summarize_ir(ir)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_makefile_runs(tmp_path: Path) -> None:
    backend = load_tutorial_backend().MakefileBackend()
    compiled = backend.compile(load_ir(EXAMPLES / "sequential.yaml"))
    compiled.write(tmp_path / "Makefile")
    env = {"PATH": f"{EXAMPLES / 'bin'}:/usr/bin:/bin"}
    subprocess.run(["make", "-s"], cwd=tmp_path, check=True, env=env, capture_output=True)
    assert '"processed": true' in (tmp_path / "processor" / "processor_event.json").read_text()


def test_refuses_fan_out_by_name() -> None:
    with pytest.raises(UnsupportedFeatureError, match="fan-out"):
        load_tutorial_backend().MakefileBackend().check(load_ir(EXAMPLES / "fanout.yaml"))
