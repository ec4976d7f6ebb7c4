"""An Argo Server that hangs, fails for a moment, or answers HTML, broken or wrong-shaped JSON, a huge
body, a redirect or the token it was sent (issue 20): flowyard's server contract
(:mod:`flowyard.testing.server_contract`) over the Argo Server stand-in, and Argo's own log stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flowyard.testing.server_contract import ServerContract, Standin

from .argo_server_standin import StandinState, argo_server


class TestArgoServer(ServerContract):
    @pytest.fixture
    def backend_name(self) -> str:
        return "argo"

    @pytest.fixture
    def engine(self) -> str:
        return "Argo Server"

    @pytest.fixture
    def standin(self) -> Standin:
        return argo_server

    @pytest.fixture
    def env_prefixes(self) -> tuple[str, ...]:
        return ("ARGO_", "FLOWYARD_")

    @pytest.fixture
    def requests_before_first_poll(self) -> int:
        return 1  # the create

    @pytest.fixture
    def wrong_shape(self) -> tuple[Any, str]:
        return {"metadata": {}}, "metadata.name"

    @pytest.fixture
    def bad_timestamp(self) -> tuple[str, Any, str]:
        workflow = {"metadata": {"name": "wf"}, "status": {"phase": "Running", "startedAt": "yesterday"}}
        return "wf", workflow, "status.startedAt"

    @pytest.fixture
    def submitted_name(self) -> Callable[[StandinState], str]:
        def name(state: StandinState) -> str:
            ((_, workflow),) = state.workflows
            return workflow

        return name


@pytest.mark.parametrize("line", [b"[1, 2]", b'{"error": "gone"}', b'{"result": "text"}', b'"just a string"'])
def test_a_log_line_of_the_wrong_shape_is_one_error(line: bytes) -> None:
    from flowyard.errors import InfrastructureError
    from flowyard_argo.service import parse_log_stream

    with pytest.raises(InfrastructureError):
        list(parse_log_stream(iter([line])))
