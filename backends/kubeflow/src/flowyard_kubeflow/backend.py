"""The kubeflow backend class. Not built yet: it declares no capabilities."""

from __future__ import annotations

from typing import ClassVar

from flowyard.backend import Backend, Capability, CompiledPipeline
from flowyard.errors import BackendNotReadyError
from flowyard.ir import PipelineIR


class KubeflowBackend(Backend):
    name = "kubeflow"
    description = "Kubeflow Pipelines (not built yet)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def compile(self, ir: PipelineIR) -> CompiledPipeline:
        raise BackendNotReadyError("the kubeflow backend is not built yet")
