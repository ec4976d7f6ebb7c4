"""A KFP API server that hangs, fails for a moment, or answers HTML, broken or wrong-shaped JSON, a huge
body, a redirect or the token it was sent (issue 20): flowyard's server contract
(:mod:`flowyard.testing.server_contract`) over the KFP API stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flowyard.testing.server_contract import ServerContract, Standin

from .kfp_server_standin import KfpState, kfp_server


class TestKfpServer(ServerContract):
    @pytest.fixture
    def backend_name(self) -> str:
        return "kubeflow"

    @pytest.fixture
    def engine(self) -> str:
        return "KFP API server"

    @pytest.fixture
    def standin(self) -> Standin:
        return kfp_server

    @pytest.fixture
    def env_prefixes(self) -> tuple[str, ...]:
        return ("KFP_", "KF_", "FLOWYARD_")

    @pytest.fixture
    def requests_before_first_poll(self) -> int:
        return 4  # the health check, the experiment's list and create, the run's create

    @pytest.fixture
    def wrong_shape(self) -> tuple[Any, str]:
        return {"run_id": 5}, "answered JSON of an unexpected shape"

    @pytest.fixture
    def bad_timestamp(self) -> tuple[str, Any, str]:
        run = {"run_id": "r1", "display_name": "r", "state": "RUNNING", "created_at": "yesterday"}
        return "r1", run, "created_at"

    @pytest.fixture
    def submitted_name(self) -> Callable[[KfpState], str]:
        def name(state: KfpState) -> str:
            (run_id,) = state.runs
            return run_id

        return name
