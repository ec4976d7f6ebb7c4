"""A Remote resolved into a Connection (flag, then the engine's environment), and a submitted run's status."""

from __future__ import annotations

import pytest
from flowyard.connection import Connection, EngineSettings, submitted_run
from flowyard.errors import InfrastructureError
from flowyard.requests import Remote
from flowyard.runs import RunStatus, TaskState

ENGINE = EngineSettings(
    backend="toy",
    engine="Toy Server",
    server_env=["TOY_SERVER"],
    namespace_env=["TOY_NAMESPACE"],
    token_env=["TOY_TOKEN"],
    insecure_env=["TOY_INSECURE"],
)


@pytest.fixture(autouse=True)
def _nothing_configured(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FLOWYARD_HOME", str(tmp_path))  # an empty home: no config file
    for name in ("TOY_SERVER", "TOY_NAMESPACE", "TOY_TOKEN", "TOY_INSECURE"):
        monkeypatch.delenv(name, raising=False)


def test_a_flag_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TOY_SERVER", "https://from-env:2746")
    monkeypatch.setenv("TOY_NAMESPACE", "env-ns")
    monkeypatch.setenv("TOY_INSECURE", "true")
    conn = Connection.resolve(Remote(server="https://from-flag:2746", token="s3cr3t-token-value"), ENGINE, "default")
    assert (conn.server, conn.namespace, conn.insecure) == ("https://from-flag:2746", "env-ns", True)
    assert conn.token == "s3cr3t-token-value" and "s3cr3t" not in repr(conn)
    client = conn.client()
    assert client.server == "https://from-flag:2746" and client.engine == "Toy Server"


def test_the_default_namespace_when_none_is_given(monkeypatch) -> None:
    monkeypatch.setenv("TOY_SERVER", "toy.example:2746")  # host:port alone means https, as the engines' CLIs read it
    conn = Connection.resolve(Remote(), ENGINE, "default")
    assert (conn.server, conn.namespace, conn.token, conn.insecure) == (
        "https://toy.example:2746",
        "default",
        None,
        False,
    )
    assert Connection.resolve(Remote(), ENGINE).namespace == ""


def test_no_server_anywhere_is_one_line_saying_where_to_give_one() -> None:
    with pytest.raises(InfrastructureError, match=r"^no Toy Server given: pass --server URL, set TOY_SERVER") as exc:
        Connection.resolve(Remote(), ENGINE)
    assert exc.value.exit_code == 3 and "\n" not in str(exc.value)


def test_a_submitted_run_is_pending_unless_watched() -> None:
    followed = RunStatus(run_id="r1", pipeline="p", backend="toy", state=TaskState.SUCCEEDED)
    common = {"backend": "toy", "pipeline": "p", "run_id": "r1", "link": "https://toy/r1", "follow": lambda: followed}
    pending = submitted_run(watch=False, **common)
    assert pending.state is TaskState.PENDING and pending.location == "https://toy/r1"
    assert pending.message == "submitted; follow it with: flowyard status r1 --backend toy"
    assert submitted_run(watch=True, **common) is followed
