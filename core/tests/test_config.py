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
