"""Connection settings for remote engines: a flag, then an environment variable, then the config file.

The config file is ``$FLOWYARD_CONFIG``, else ``$XDG_CONFIG_HOME/flowyard/config.yaml`` (default
``~/.config/flowyard/config.yaml``), with one mapping per backend::

    argo:
      server: https://argo.example.com:2746
      namespace: argo
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowyard._bounded_yaml import DocumentError, parse_yaml, read_bounded
from flowyard.errors import FlowyardError


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("FLOWYARD_CONFIG"):
        return Path(env["FLOWYARD_CONFIG"])
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "flowyard" / "config.yaml"


def read_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config file's mapping of backend names to settings; any other shape is one error naming
    the file, its line and the field."""
    path = config_path(environ)
    if not path.is_file():
        return {}
    logging.getLogger(__name__).debug("reading the config file %s", path)
    try:
        data, node = parse_yaml(read_bounded(path))
    except (OSError, UnicodeDecodeError) as e:
        raise FlowyardError(f"{path}: cannot read the flowyard config file: {e}") from None
    except DocumentError as e:
        where = f"{path}:{e.line}" if e.line else str(path)
        raise FlowyardError(f"{where}: {e.field + ': ' if e.field else ''}{e.problem}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise FlowyardError(f"{path}: expected a mapping of backend names to settings")
    for backend, section in data.items():
        line = _line_of(node, backend)
        if section is not None and not isinstance(section, dict):
            raise FlowyardError(
                f"{path}:{line}: {backend}: expected a mapping of settings (server, namespace, token, ...), "
                f"got a {type(section).__name__}"
            )
        for key, value in (section or {}).items():
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                kind = type(value).__name__
                raise FlowyardError(f"{path}:{line}: {backend}.{key}: expected a single value, got a {kind}")
    return data


def _line_of(node: Any, key: Any) -> int | None:
    for k, _ in getattr(node, "value", ()):
        if getattr(k, "value", None) == str(key):
            return int(k.start_mark.line) + 1
    return None


def resolve_setting(
    backend: str,
    key: str,
    flag: Any,
    env_vars: Sequence[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Any:
    """The first of: the flag, the first set environment variable, ``config[backend][key]``."""
    if flag is not None:
        return flag
    env = os.environ if environ is None else environ
    for var in env_vars:
        if env.get(var):
            return env[var]
    section = (read_config(environ) if config is None else config).get(backend) or {}
    return section.get(key)


def server_url(backend: str, engine: str, flag: str | None, env_vars: Sequence[str]) -> str:
    """A remote engine's URL from flag, env or config; ``host:port`` alone means https (as the
    engines' own CLIs read it). None anywhere is an infrastructure error saying where to give one."""
    from flowyard.errors import InfrastructureError

    server = resolve_setting(backend, "server", flag, env_vars)
    if not server:
        raise InfrastructureError(
            f"no {engine} given: pass --server URL, set {env_vars[0]}, or add {backend}.server to the config file"
        )
    server = str(server)
    if "://" not in server:
        server = f"https://{server}"
    return server.rstrip("/")


def flag_setting(backend: str, key: str, flag: bool | None, env_vars: Sequence[str]) -> bool:
    """A yes/no setting: the flag, else ``true``/``1``/``yes`` in an env var or the config file."""
    return str(resolve_setting(backend, key, flag, env_vars)).lower() in ("true", "1", "yes")


def authorization(token: str | None) -> str | None:
    """The ``Authorization`` header for a token: ``Bearer`` unless it names its own scheme."""
    if not token:
        return None
    return token if " " in token else f"Bearer {token}"
