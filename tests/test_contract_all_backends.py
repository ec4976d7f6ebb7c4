"""The contract kit over every installed backend, and over the docs' tutorial backend."""

from __future__ import annotations

import pytest
from flowyard.backend import Capability
from flowyard.plugins import backend_registry
from flowyard.testing import BackendContract, requires
from flowyard.testing.contract import RUNNABLE

from .conftest import load_tutorial_backend

INSTALLED = backend_registry().names()


def test_the_three_first_party_backends_are_installed() -> None:
    assert {"local", "argo", "kubeflow"} <= set(INSTALLED)


class TestEveryInstalledBackend(BackendContract):
    @pytest.fixture(params=INSTALLED)
    def backend(self, request):
        return backend_registry().create(request.param)

    @requires(Capability.RUN)
    @pytest.mark.parametrize("name", RUNNABLE)
    def test_runs_produce_the_expected_documents(self, backend, name, tmp_path):
        if backend.name == "argo":
            backend = _argo_on_this_machine(tmp_path)
        super().test_runs_produce_the_expected_documents(backend, name, tmp_path)


def _argo_on_this_machine(folder):
    """argo executes its compiled manifest here (the Argo executor): the canonical images stand for this Python."""
    import yaml
    from flowyard.testing.pipelines import SEED_IMAGE
    from flowyard_argo.executor.images import host_python_entry
    from flowyard_argo.executor.pods import namespaces_available

    if not namespaces_available():
        pytest.skip("argo's pods need unshare (mount+net namespaces)")
    entry = host_python_entry()
    images = folder / "images.yaml"
    images.write_text(yaml.safe_dump({"flowyard-step*": entry, SEED_IMAGE: entry}))
    options = {"default_image": "registry.example/flowyard-step:0.1", "image_map": str(images)}
    return backend_registry().create("argo", options)


class TestTutorialBackend(BackendContract):
    """The tutorial's adoption, exactly as docs/plugins.md shows it."""

    @pytest.fixture
    def backend(self):
        return load_tutorial_backend().MakefileBackend()
