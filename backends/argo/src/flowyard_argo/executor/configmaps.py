"""ConfigMaps on this machine: the documents of ``-O configmaps=FOLDER`` (YAML files, several folders joined with
``:``), the ConfigMap documents beside the Workflow in its own file, then the environment
(``ARGO_CONFIGMAP_<NAME>_<KEY>``, upper case, other characters as ``_``).

The controller reads parameters only from ConfigMaps labelled ``workflows.argoproj.io/configmap-type: Parameter``
(``workflow/common/configmap.go`` ``GetConfigMapValue``); a semaphore's limit from any ConfigMap
(``workflow/controller/controller.go`` ``createSynchronizationManager``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TYPE_LABEL = "workflows.argoproj.io/configmap-type"
PARAMETER = "Parameter"


class ConfigMapError(ValueError):
    """A ConfigMap value that cannot be had (the controller's words)."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class ConfigMaps:
    """ConfigMaps by name (data and labels), and the environment read for what they lack."""

    maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folders: str | None, documents: Iterable[Mapping[str, Any]] = ()) -> ConfigMaps:
        """From ``folders`` (``DIR[:DIR...]``), the file's own ConfigMap documents and ``os.environ``."""
        found: dict[str, Mapping[str, Any]] = {}
        for folder in [f for f in (folders or "").split(os.pathsep) if f]:
            if not Path(folder).is_dir():
                raise ConfigMapError(f"-O configmaps={folder}: not a folder")
            for path in sorted(Path(folder).rglob("*.y*ml")):
                try:
                    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
                except (yaml.YAMLError, UnicodeDecodeError) as e:
                    raise ConfigMapError(f"{path}: not YAML ({e.__class__.__name__})") from None
                found.update(_named(docs))
        found.update(_named(documents))
        return cls(found, dict(os.environ))

    def data(self, name: str) -> dict[str, str]:
        """Every key of ConfigMap ``name`` (a volume's files); the environment does not stand in for a whole map."""
        cm = self.maps.get(name)
        if cm is None:
            raise ConfigMapError(f"ConfigMap '{name}' does not exist", not_found=True)
        return {str(k): str(v) for k, v in (cm.get("data") or {}).items()}

    def value(self, name: str, key: str, *, parameter: bool) -> str:
        """``data[key]`` of ConfigMap ``name``; ``parameter``: it must carry the Parameter label."""
        cm = self.maps.get(name)
        if cm is None:
            from_env = self.environ.get(env_name(name, key))
            if from_env is not None:
                return from_env
            raise ConfigMapError(
                f"ConfigMap '{name}' does not exist (no -O configmaps=FOLDER document, no {env_name(name, key)})",
                not_found=True,
            )
        labels = (cm.get("metadata") or {}).get("labels") or {}
        if parameter and labels.get(TYPE_LABEL) != PARAMETER:
            raise ConfigMapError(
                f"ConfigMap '{name}' needs to have the label {TYPE_LABEL}: {PARAMETER} to load parameters"
            )
        data = cm.get("data") or {}
        if key not in data:
            raise ConfigMapError(f"ConfigMap '{name}' does not have the key '{key}'", not_found=True)
        return str(data[key])


def env_name(name: str, key: str) -> str:
    """The environment variable standing in for ``data[key]`` of ConfigMap ``name``."""
    return "ARGO_CONFIGMAP_" + re.sub(r"[^A-Z0-9]", "_", f"{name}_{key}".upper())


def _named(documents: Iterable[Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str((d.get("metadata") or {}).get("name")): d
        for d in documents
        if isinstance(d, Mapping) and d.get("kind") == "ConfigMap" and (d.get("metadata") or {}).get("name")
    }


def resolve_inputs(params: list[dict[str, Any]], configmaps: ConfigMaps) -> list[dict[str, Any]]:
    """``substituteAndGetConfigMapValue``: input parameters with no value take theirs from a ConfigMap (the
    ``default`` when the map or key is missing); the name and key are substituted before (``engine``)."""
    out = []
    for param in params:
        ref = (param.get("valueFrom") or {}).get("configMapKeyRef")
        if param.get("value") is None and isinstance(ref, Mapping):
            param = dict(param)
            try:
                param["value"] = configmaps.value(str(ref.get("name")), str(ref.get("key")), parameter=True)
            except ConfigMapError as e:
                default = (param.get("valueFrom") or {}).get("default")
                if default is None or not e.not_found:
                    raise ConfigMapError(
                        f"unable to retrieve inputs.parameters.{param['name']} from ConfigMap: {e}"
                    ) from None
                param["value"] = str(default)
        out.append(param)
    return out


def resolve_globals(arguments: Mapping[str, Any], configmaps: ConfigMaps) -> dict[str, Any]:
    """``setGlobalParameters``: the workflow's argument parameters from ConfigMaps as values (the ``default``
    when it cannot be had)."""
    params = []
    for param in arguments.get("parameters") or []:
        ref = (param.get("valueFrom") or {}).get("configMapKeyRef")
        if param.get("value") is None and isinstance(ref, Mapping):
            name, key = str(ref.get("name")), str(ref.get("key"))
            try:
                value = configmaps.value(name, key, parameter=True)
            except ConfigMapError as e:
                default = (param.get("valueFrom") or {}).get("default")
                if default is None:
                    raise ConfigMapError(
                        f"failed to set global parameter {param.get('name')} from configmap with name {name} "
                        f"and key {key}: {e}"
                    ) from None
                value = str(default)
            param = {"name": param.get("name"), "value": value}
        params.append(param)
    return {**arguments, "parameters": params} if params else dict(arguments)
