"""Entry point of the argo backend: registers the backend class (and imports nothing heavy)."""

from __future__ import annotations

from flowyard import hookimpl
from flowyard.plugins import RegisterBackend

from flowyard_argo.backend import ArgoBackend


@hookimpl
def flowyard_register_backends(register: RegisterBackend) -> None:
    register(ArgoBackend)
