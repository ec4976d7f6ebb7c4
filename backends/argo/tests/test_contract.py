"""The argo backend adopts the contract kit exactly as a third-party backend would."""

import pytest
from flowyard.testing import BackendContract
from flowyard_argo import ArgoBackend

# The canonical Python-function steps name no image; on a cluster they need one with flowyard-core.
STEP_IMAGE = "registry.example/flowyard-step:0.1"


class TestArgoBackendContract(BackendContract):
    @pytest.fixture
    def backend(self):
        return ArgoBackend({"default_image": STEP_IMAGE})
