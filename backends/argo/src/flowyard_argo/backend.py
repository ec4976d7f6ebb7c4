"""The argo backend class. Not built yet: it declares no capabilities."""

from __future__ import annotations

from typing import ClassVar

from flowyard.backend import Backend, Capability, CompiledPipeline
from flowyard.errors import BackendNotReadyError
from flowyard.ir import PipelineIR


class ArgoBackend(Backend):
    name = "argo"
    description = "Argo Workflows (not built yet)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def compile(self, ir: PipelineIR) -> CompiledPipeline:
        raise BackendNotReadyError("the argo backend is not built yet")
