from __future__ import annotations

from pathlib import Path

import pytest
from flowyard.config import config_path, resolve_setting
from flowyard.errors import FlowyardError


def test_flag_then_env_then_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("argo:\n  server: https://from-file\n  namespace: file-ns\n")
    env = {"FLOWYARD_CONFIG": str(cfg), "ARGO_SERVER": "https://from-env"}
    assert resolve_setting("argo", "server", "https://flag", ["ARGO_SERVER"], environ=env) == "https://flag"
    assert resolve_setting("argo", "server", None, ["ARGO_SERVER"], environ=env) == "https://from-env"
    assert resolve_setting("argo", "namespace", None, ["ARGO_NAMESPACE"], environ=env) == "file-ns"
    assert resolve_setting("argo", "token", None, ["ARGO_TOKEN"], environ=env) is None


def test_default_config_location_follows_xdg(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "flowyard" / "config.yaml"


def test_a_broken_config_file_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("- just a list\n")
    with pytest.raises(FlowyardError, match="expected a mapping of backend names"):
        resolve_setting("argo", "server", None, [], environ={"FLOWYARD_CONFIG": str(cfg)})


def test_server_url_adds_https_to_host_port_and_says_where_to_give_one(monkeypatch, tmp_path) -> None:
    from flowyard.config import server_url
    from flowyard.errors import InfrastructureError

    monkeypatch.setenv("FLOWYARD_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.setenv("X_SERVER", "argo.example:2746")
    assert server_url("argo", "Argo Server", None, ["X_SERVER"]) == "https://argo.example:2746"
    assert server_url("argo", "Argo Server", "http://h:1/", ["X_SERVER"]) == "http://h:1"
    monkeypatch.delenv("X_SERVER")
    with pytest.raises(InfrastructureError, match="no Argo Server given: pass --server URL, set X_SERVER"):
        server_url("argo", "Argo Server", None, ["X_SERVER"])


def test_flag_settings_and_authorization_headers(monkeypatch, tmp_path) -> None:
    from flowyard.config import authorization, flag_setting

    monkeypatch.setenv("FLOWYARD_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.setenv("X_INSECURE", "Yes")
    assert flag_setting("argo", "insecure", None, ["X_INSECURE"]) is True
    assert flag_setting("argo", "insecure", False, ["X_INSECURE"]) is False  # the flag wins
    assert authorization("abc") == "Bearer abc" and authorization("Basic xyz") == "Basic xyz"
    assert authorization(None) is None
