"""What the Argo compiler holds while it builds one workflow, and where things live: upstream values in the
entry DAG, artifact keys in the store, a step's files in its pod."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from flowyard.ir import InputIR, ItemSource, OutputIR, PipelineIR, S3StoreIR, StepIR, StepOutputSource

from flowyard_argo.fan_ins import listed_outputs, wrapped_loops
from flowyard_argo.names import DEFAULT_WORKDIR, INPUTS_ROOT, OUTPUTS_ROOT, basename
from flowyard_argo.options import ArgoOptions
from flowyard_argo.scalar_checks import checked_outputs, values_ref

if TYPE_CHECKING:
    from flowyard_argo.items import Items


class CompilerLayout:
    """The state the compiler's parts share (derived from the IR and options only), and where things live."""

    def __init__(self, ir: PipelineIR, options: ArgoOptions, values: Mapping[str, Any] | None = None) -> None:
        self.ir = ir
        self.options = options
        self.values = dict(values or {})  # parameter values to send (submit); else the defaults
        self.items: dict[str, Items] = {}
        self.needs_helper = False
        self.needs_helper_file = False
        self.listed = listed_outputs(ir)  # (step, output) a fan-out's helper reads as a file
        self.needs_check = False
        self.wrapped = wrapped_loops(ir)  # fanned-out steps whose loop a DAG template holds
        self.steps = {s.name: s for s in ir.all_steps}  # ir.step() is a linear scan
        self.checked = checked_outputs(ir)  # container outputs checked and rendered before a container reads them

    def dns(self, step: str) -> str:
        return self.steps[step].dns_name

    def output_ref(self, step: str, output: str) -> str:
        """The expression, in the entry DAG, for an upstream step's value output (aggregated if fanned out)."""
        return f"{{{{tasks.{self.dns(step)}.outputs.parameters.{output}}}}}"

    def read_ref(self, step: str, output: str) -> str:
        """What a container or a ``when`` reads of an upstream value output: its check task's rendering where
        there is one (:mod:`flowyard_argo.scalar_checks`), else the output as Argo saved it."""
        checked = self.checked.get(step, ())
        if output in checked:
            return values_ref(self.dns(step), checked.index(output))
        return self.output_ref(step, output)

    def key(self, step: StepIR, out: OutputIR, *, indexed: str | None) -> str:
        """The artifact key of an output: a folder per step and output, a sub-folder per item."""
        store = self.ir.store
        prefix = store.prefix.strip("/") + "/" if isinstance(store, S3StoreIR) and store.prefix.strip("/") else ""
        base = f"{prefix}{{{{workflow.name}}}}/{step.dns_name}/{out.name}"
        if indexed is None:
            return base
        return f"{base}/{indexed}/{basename(out)}"

    def workdir(self, step: StepIR) -> str:
        if step.container is not None and step.container.workdir:
            return step.container.workdir
        return DEFAULT_WORKDIR

    def output_path(self, step: StepIR, out: OutputIR) -> str:
        if out.path is None:
            return f"{OUTPUTS_ROOT}/{out.name}"
        return str(PurePosixPath(self.workdir(step)) / out.path)

    def input_path(self, step: StepIR, inp: InputIR) -> str:
        if inp.path is not None:
            return str(PurePosixPath(self.workdir(step)) / inp.path)
        src = inp.source
        if isinstance(src, StepOutputSource) and not src.collect:
            return f"{INPUTS_ROOT}/{inp.name}/{basename(self.steps[src.step].output(src.output))}"
        if isinstance(src, ItemSource) and step.for_each is not None:
            up = step.for_each.source
            assert isinstance(up, StepOutputSource)
            return f"{INPUTS_ROOT}/{inp.name}/{basename(self.steps[up.step].output(up.output))}"
        return f"{INPUTS_ROOT}/{inp.name}"
