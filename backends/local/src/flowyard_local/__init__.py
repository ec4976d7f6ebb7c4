"""flowyard's local backend: an embedded DAG runner, no cluster needed."""

from flowyard_local.backend import LocalBackend

__all__ = ["LocalBackend"]
