"""The local backend adopts the contract kit exactly as a third-party backend would."""

import pytest
from flowyard.testing import BackendContract
from flowyard_local import LocalBackend


class TestLocalBackendContract(BackendContract):
    @pytest.fixture
    def backend(self):
        return LocalBackend()
