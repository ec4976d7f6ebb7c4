"""The kubeflow backend adopts the contract kit exactly as a third-party backend would. Runnable
canonical pipelines it accepts run through kfp.local (a real KFP executor)."""

import pytest
from flowyard.testing import BackendContract
from flowyard_kubeflow import KubeflowBackend

STEP_IMAGE = "registry.example/flowyard-step:0.1"


class TestKubeflowBackendContract(BackendContract):
    @pytest.fixture
    def backend(self):
        return KubeflowBackend({"default_image": STEP_IMAGE})
