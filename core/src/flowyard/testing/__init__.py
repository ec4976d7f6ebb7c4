"""The backend contract kit: what every flowyard backend, ours or a third party's, must pass.

Needs pytest (``pip install 'flowyard-core[testing]'``). Nothing in flowyard proper imports it.
Adopt it in a test module::

    import pytest
    from flowyard.testing import BackendContract
    from flowyard_mybackend import MyBackend

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self):
            return MyBackend()
"""

from flowyard.testing.contract import BackendContract, requires
from flowyard.testing.pipelines import CANONICAL_PIPELINES, canonical_pipeline
from flowyard.testing.server_contract import ServerContract

__all__ = ["CANONICAL_PIPELINES", "BackendContract", "ServerContract", "canonical_pipeline", "requires"]
