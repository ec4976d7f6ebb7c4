"""The local backend class: its "compiled" form is the IR itself, which its runner executes."""

from __future__ import annotations

import json
from typing import ClassVar

from flowyard.backend import Backend, BackendOptions, Capability, CompiledFile, CompiledPipeline
from flowyard.ir import PipelineIR
from flowyard.summary import StructuralSummary, summarize_ir


class LocalOptions(BackendOptions):
    """Options of the local backend (``-O key=value``)."""


class LocalBackend(Backend):
    name = "local"
    description = "runs here: an embedded DAG runner with the cluster engines' semantics"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SUMMARIZE})
    Options = LocalOptions

    def compile(self, ir: PipelineIR) -> CompiledPipeline:
        text = ir.model_dump_json(indent=2)
        return CompiledPipeline(
            backend=self.name,
            files=(CompiledFile(f"{ir.dns_name}.ir.json", text + "\n", "application/json"),),
            metadata={"objects": {"tasks": len(ir.all_steps)}},
        )

    def summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        return summarize_ir(PipelineIR.model_validate(json.loads(compiled.main.content)))
