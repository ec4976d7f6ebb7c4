"""flowyard: write a data pipeline once, run it on the orchestration engine of your choice.

The public API, for pipelines, backends and tools. Names are imported on first use, so that
``import flowyard`` (and ``flowyard --help``) stays fast and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flowyard._version import __version__

if TYPE_CHECKING:
    from flowyard._loading import load_ir, load_pipeline
    from flowyard._lowering import lower, value_matches
    from flowyard._params import resolve_params
    from flowyard.api import PipelineSource, compile, run
    from flowyard.backend import (
        Backend,
        BackendOptions,
        Capability,
        CompiledFile,
        CompiledPipeline,
        FeatureUse,
        SupportReport,
        required_features,
    )
    from flowyard.errors import (
        FlowyardError,
        InfrastructureError,
        ParameterError,
        Problem,
        SpecError,
        UnsupportedFeatureError,
    )
    from flowyard.hookspecs import hookimpl
    from flowyard.ir import IR_VERSION, PipelineIR, StepIR
    from flowyard.plugins import BackendRegistry, backend_registry, make_plugin_manager
    from flowyard.provenance import ProvenanceRecord
    from flowyard.remote import HttpSettings, RemoteClient, RemoteError
    from flowyard.runs import RunDirectory, RunStatus, TaskState, TaskStatus, render_status_tree
    from flowyard.spec import (
        Container,
        Input,
        Output,
        Parameter,
        Pipeline,
        PythonFunction,
        Resources,
        Retry,
        S3Store,
        SecretRef,
        Step,
    )
    from flowyard.store import ArtifactStore, open_store
    from flowyard.summary import StructuralSummary, summarize_ir

_EXPORTS = {
    "flowyard.api": ("PipelineSource", "compile", "run"),
    "flowyard.backend": (
        "Backend",
        "BackendOptions",
        "Capability",
        "CompiledFile",
        "CompiledPipeline",
        "FeatureUse",
        "SupportReport",
        "required_features",
    ),
    "flowyard.errors": (
        "FlowyardError",
        "InfrastructureError",
        "ParameterError",
        "Problem",
        "SpecError",
        "UnsupportedFeatureError",
    ),
    "flowyard.hookspecs": ("hookimpl",),
    "flowyard.ir": ("IR_VERSION", "PipelineIR", "StepIR"),
    "flowyard._loading": ("load_ir", "load_pipeline"),
    "flowyard._lowering": ("lower", "value_matches"),
    "flowyard._params": ("resolve_params",),
    "flowyard.plugins": ("BackendRegistry", "backend_registry", "make_plugin_manager"),
    "flowyard.provenance": ("ProvenanceRecord",),
    "flowyard.remote": ("HttpSettings", "RemoteClient", "RemoteError"),
    "flowyard.runs": ("RunDirectory", "RunStatus", "TaskState", "TaskStatus", "render_status_tree"),
    "flowyard.spec": (
        "Container",
        "Input",
        "Output",
        "Parameter",
        "Pipeline",
        "PythonFunction",
        "Resources",
        "Retry",
        "S3Store",
        "SecretRef",
        "Step",
    ),
    "flowyard.store": ("ArtifactStore", "open_store"),
    "flowyard.summary": ("StructuralSummary", "summarize_ir"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "IR_VERSION",
    "ArtifactStore",
    "Backend",
    "BackendOptions",
    "BackendRegistry",
    "Capability",
    "CompiledFile",
    "CompiledPipeline",
    "Container",
    "FeatureUse",
    "FlowyardError",
    "HttpSettings",
    "InfrastructureError",
    "Input",
    "Output",
    "Parameter",
    "ParameterError",
    "Pipeline",
    "PipelineIR",
    "PipelineSource",
    "Problem",
    "ProvenanceRecord",
    "PythonFunction",
    "RemoteClient",
    "RemoteError",
    "Resources",
    "Retry",
    "RunDirectory",
    "RunStatus",
    "S3Store",
    "SecretRef",
    "SpecError",
    "Step",
    "StepIR",
    "StructuralSummary",
    "SupportReport",
    "TaskState",
    "TaskStatus",
    "UnsupportedFeatureError",
    "__version__",
    "backend_registry",
    "compile",
    "hookimpl",
    "load_ir",
    "load_pipeline",
    "lower",
    "make_plugin_manager",
    "open_store",
    "render_status_tree",
    "required_features",
    "resolve_params",
    "run",
    "summarize_ir",
    "value_matches",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
