"""Entry point of the local backend: registers the backend class."""

from __future__ import annotations

from flowyard import hookimpl
from flowyard.plugins import RegisterBackend

from flowyard_local.backend import LocalBackend


@hookimpl
def flowyard_register_backends(register: RegisterBackend) -> None:
    register(LocalBackend)
