"""Hook specifications for flowyard plugins: signatures only (documented in docs/plugins.md).

A plugin is a module (or object) with functions marked ``@flowyard.hookimpl``, found through the
``flowyard`` entry-point group::

    [project.entry-points.flowyard]
    mybackend = "flowyard_mybackend.plugin"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from flowyard.plugins import RegisterBackend

NAME = "flowyard"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def flowyard_register_backends(register: RegisterBackend) -> None:
    """Register backend classes: call ``register(MyBackend)`` once for each.

    :param register: takes a :class:`flowyard.Backend` subclass; a second backend with the same
        ``name`` is an error naming both plugins.
    """


__all__ = ["NAME", "flowyard_register_backends", "hookimpl", "hookspec"]
