"""flowyard's kubeflow backend (Kubeflow Pipelines)."""

from flowyard_kubeflow.backend import KubeflowBackend

__all__ = ["KubeflowBackend"]
