"""Hook specifications for flowyard plugins: signatures only (documented in docs/plugins.md).

A plugin is a module (or object) with functions marked ``@flowyard.hookimpl``, found through the
``flowyard`` entry-point group::

    [project.entry-points.flowyard]
    mybackend = "flowyard_mybackend.plugin"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flowyard.plugins import RegisterBackend

NAME = "flowyard"

hookspec: pluggy.HookspecMarker = pluggy.HookspecMarker(NAME)
hookimpl: pluggy.HookimplMarker = pluggy.HookimplMarker(NAME)


@hookspec
def flowyard_register_backends(register: RegisterBackend) -> None:
    """Register backend classes: call ``register(MyBackend)`` once for each.

    :param register: takes a :class:`flowyard.Backend` subclass; a second backend with the same
        ``name`` is an error naming both plugins.
    """


@dataclass(frozen=True)
class DocumentRun:
    """What ``flowyard run FILE`` asks of a plugin that claimed FILE's document (see ``flowyard_document_runner``)."""

    path: str
    # the file's first document, parsed within flowyard's YAML bounds: a runner need not read the file again
    document: Mapping[str, Any] = field(default_factory=dict)
    params: tuple[str, ...] = ()  # -p NAME=VALUE, as typed
    options: tuple[str, ...] = ()  # -O KEY=VALUE, as typed
    entrypoint: str | None = None
    name: str | None = None
    as_json: bool = False
    beside: tuple[Any, ...] = ()  # the file's other documents (a ConfigMap beside a Workflow), as parsed


DocumentRunner = Callable[[DocumentRun], int]


@hookspec(firstresult=True)
def flowyard_document_runner(document: Mapping[str, Any]) -> DocumentRunner | None:
    """Claim a document that is not a flowyard pipeline (an engine's own manifest) for ``flowyard run``.

    :param document: the file's first YAML/JSON document, when its ``apiVersion`` is not ``flowyard/...``.
    :return: a function running it (printing what it reports, returning the exit code), or ``None``.
        The first plugin that answers wins; core never imports the engine.
    """


__all__ = [
    "NAME",
    "DocumentRun",
    "DocumentRunner",
    "flowyard_document_runner",
    "flowyard_register_backends",
    "hookimpl",
    "hookspec",
]
