"""The plugin host: a manager factory (no module-level manager) and the backend registry built from it.

Environment switches:
``FLOWYARD_DISABLE_PLUGINS=a,b``  do not load the named entry points (e.g. ``argo``);
``FLOWYARD_TRACE_PLUGINS=1``      print every hook call and its result to stderr.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from flowyard import hookspecs
from flowyard.backend import Backend
from flowyard.errors import BackendNotFoundError, PluginError

ENTRY_POINT_GROUP = hookspecs.NAME
DISABLE_ENV = "FLOWYARD_DISABLE_PLUGINS"
TRACE_ENV = "FLOWYARD_TRACE_PLUGINS"
log: logging.Logger = logging.getLogger(__name__)

RegisterBackend = Callable[[type[Backend]], None]


def disabled_plugins() -> list[str]:
    return [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]


def make_plugin_manager(*, load_entrypoints: bool = True, plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    """A fresh manager: installed plugins (unless ``load_entrypoints`` is false), then ``plugins``.

    Tests pass their own plugins here, so a test backend never shows among a user's backends.
    """
    pm = pluggy.PluginManager(hookspecs.NAME)
    pm.add_hookspecs(hookspecs)
    for name in disabled_plugins():
        pm.set_blocked(name)
    if load_entrypoints:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as e:  # a broken third-party plugin must not take the CLI down silently
            raise PluginError(f"loading a flowyard plugin failed: {type(e).__name__}: {e}") from e
    for plugin in plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise PluginError(f"plugin {e.plugin!r} implements a hook flowyard does not have: {e}") from None
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


@dataclass(frozen=True)
class BackendInfo:
    """A registered backend: its class and where it came from."""

    name: str
    backend_class: type[Backend]
    plugin: str
    dist: Any = field(default=None, repr=False, compare=False)  # pluggy's view of the distribution

    # Read when asked: each parses the distribution's METADATA, which every run would pay for.
    @functools.cached_property
    def distribution(self) -> str | None:
        return str(self.dist.project_name) if self.dist is not None else None

    @functools.cached_property
    def version(self) -> str | None:
        return str(self.dist.version) if self.dist is not None else None

    @property
    def capabilities(self) -> list[str]:
        return sorted(c.value for c in self.backend_class.capabilities)


class BackendRegistry:
    """Backends by name, collected through ``flowyard_register_backends``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._backends: dict[str, BackendInfo] = {}
        dists = {_top_package(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
        for impl in pm.hook.flowyard_register_backends.get_hookimpls():
            impl.function(register=self._registrar(impl.plugin_name, dists))

    def _registrar(self, plugin_name: str, dists: dict[str, Any]) -> RegisterBackend:
        def register(backend_class: type[Backend]) -> None:
            if not (isinstance(backend_class, type) and issubclass(backend_class, Backend)):
                raise PluginError(f"plugin {plugin_name!r} registered {backend_class!r}, which is not a Backend class")
            name = getattr(backend_class, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {plugin_name!r} registered {backend_class.__name__} without a name")
            if name in self._backends:
                other = self._backends[name]
                raise PluginError(
                    f"two plugins register a backend named {name!r}: {other.plugin!r} and {plugin_name!r}"
                )
            dist = dists.get(backend_class.__module__.split(".")[0])
            self._backends[name] = BackendInfo(name, backend_class, plugin_name, dist)
            log.debug("backend %r registered by plugin %r (%s)", name, plugin_name, backend_class.__module__)

        return register

    def names(self) -> list[str]:
        return sorted(self._backends)

    def infos(self) -> list[BackendInfo]:
        return [self._backends[n] for n in self.names()]

    def info(self, name: str) -> BackendInfo:
        try:
            return self._backends[name]
        except KeyError:
            have = ", ".join(self.names()) or "none"
            hint = f" ({name!r} is disabled by {DISABLE_ENV})" if name in disabled_plugins() else ""
            raise BackendNotFoundError(f"no backend named {name!r}{hint}; installed: {have}") from None

    def create(self, name: str, options: Any = None) -> Backend:
        return self.info(name).backend_class(options)


def _top_package(plugin: object) -> str:
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    return str(module).split(".")[0]


def backend_registry(*, load_entrypoints: bool = True, plugins: Iterable[object] = ()) -> BackendRegistry:
    """The registry of installed backends (plus ``plugins``)."""
    return BackendRegistry(make_plugin_manager(load_entrypoints=load_entrypoints, plugins=plugins))


def document_runner(path: str) -> tuple[Any, Mapping[str, Any], tuple[Any, ...]] | None:
    """The plugin runner claiming ``path``'s first document a plugin claims, that document and the file's others
    (a ConfigMap beside a Workflow), when it is not a flowyard pipeline. Read within flowyard's YAML bounds: a
    manifest is as hostile as a spec can be."""
    if not path.endswith((".yaml", ".yml", ".json")) or not Path(path).is_file():
        return None
    import re

    api_version = re.compile(
        r"(?m)^[\"']?apiVersion[\"']?\s*:\s*[\"']?([^\"'\s,#}]+)|\"apiVersion\"\s*:\s*\"([^\"]+)\""
    )
    with open(path, encoding="utf-8", errors="replace") as f:  # a cheap look first: pipelines pay no second parse
        found = api_version.search(f.read(65536))
    if not found or (found.group(1) or found.group(2)).startswith("flowyard"):
        return None
    from flowyard._bounded_yaml import DocumentError, parse_yaml_documents, read_bounded

    try:
        documents = parse_yaml_documents(read_bounded(path))
    except (DocumentError, OSError, UnicodeDecodeError):
        return None  # the pipeline loader reports it, with the file, line and field
    hook = make_plugin_manager().hook
    for index, document in enumerate(documents):
        if not isinstance(document, dict) or str(document.get("apiVersion", "flowyard")).startswith("flowyard"):
            continue
        runner = hook.flowyard_document_runner(document=document)
        if runner is not None:
            return runner, document, tuple(documents[:index] + documents[index + 1 :])
    return None
