"""flowyard's kubeflow backend (Kubeflow Pipelines).

``KubeflowBackend`` is imported on first use: every kfp.local task imports this package (its
generated component calls :mod:`flowyard_kubeflow.local_guard`) and needs none of the backend."""

from typing import Any

__all__ = ["KubeflowBackend"]


def __getattr__(name: str) -> Any:
    if name == "KubeflowBackend":
        from flowyard_kubeflow.backend import KubeflowBackend

        return KubeflowBackend
    raise AttributeError(f"module 'flowyard_kubeflow' has no attribute {name!r}")
