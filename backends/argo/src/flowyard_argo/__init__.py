"""flowyard's argo backend (Argo Workflows)."""

from flowyard_argo.backend import ArgoBackend

__all__ = ["ArgoBackend"]
