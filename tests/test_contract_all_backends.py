"""The contract kit over every installed backend, and over the docs' tutorial backend."""

from __future__ import annotations

import pytest
from flowyard.plugins import backend_registry
from flowyard.testing import BackendContract

from .conftest import load_tutorial_backend

INSTALLED = backend_registry().names()


def test_the_three_first_party_backends_are_installed() -> None:
    assert {"local", "argo", "kubeflow"} <= set(INSTALLED)


class TestEveryInstalledBackend(BackendContract):
    @pytest.fixture(params=INSTALLED)
    def backend(self, request):
        return backend_registry().create(request.param)


class TestTutorialBackend(BackendContract):
    """The tutorial's adoption, exactly as docs/plugins.md shows it."""

    @pytest.fixture
    def backend(self):
        return load_tutorial_backend().MakefileBackend()
