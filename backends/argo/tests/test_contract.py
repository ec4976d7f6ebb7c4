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

    @pytest.mark.skip(
        reason="issue 15 makes the Argo executor the contract kit's oracle for argo (images mapped, documents "
        "compared with the local backend's); `flowyard run --backend argo` is tested in tests/executor/test_cli.py"
    )
    def test_runs_produce_the_expected_documents(self) -> None:
        """Not yet: see the skip reason."""
