"""The structural summary: what the contract suite compares between the IR and a backend's output.

Each backend's ``summarize`` parses its own compiled documents back into this shape; it must equal
:func:`summarize_ir` of the IR it compiled. Semantic, not golden: layout and engine names may differ.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from flowyard.ir import ItemSource, LiteralSource, ParamSource, PipelineIR, StepOutputSource


class FanOutSummary(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    step: str
    source: str  # "literal:<n>", "param:<name>", "step:<step>.<output>"
    over_fanout: bool = False
    parallelism: int | None = None


class ArtifactWire(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    producer: str
    output: str
    consumer: str
    input: str
    collect: bool = False


class StructuralSummary(BaseModel):
    """Steps by DNS name; edges, fan-outs and file wiring sorted, so equality is structural."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    steps: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    fan_outs: tuple[FanOutSummary, ...] = ()
    parallelism: int | None = None
    artifacts: tuple[ArtifactWire, ...] = ()
    on_exit: str | None = None


def summarize_ir(ir: PipelineIR) -> StructuralSummary:
    dns = {s.name: s.dns_name for s in ir.all_steps}
    edges = sorted((dns[d], s.dns_name) for s in ir.steps for d in s.depends_on)
    fan_outs = []
    wires = []
    for s in ir.steps:
        if s.for_each is not None:
            src = s.for_each.source
            if isinstance(src, LiteralSource):
                text = f"literal:{len(src.value)}"
            elif isinstance(src, ParamSource):
                text = f"param:{src.name}"
            else:
                assert isinstance(src, StepOutputSource)
                text = f"step:{dns[src.step]}.{src.output}"
            fan_outs.append(
                FanOutSummary(
                    step=s.dns_name,
                    source=text,
                    over_fanout=s.for_each.over_fanout,
                    parallelism=s.parallelism,
                )
            )
        for inp in s.inputs:
            if inp.type != "file":
                continue
            if isinstance(inp.source, StepOutputSource):
                wires.append(
                    ArtifactWire(
                        producer=dns[inp.source.step],
                        output=inp.source.output,
                        consumer=s.dns_name,
                        input=inp.name,
                        collect=inp.source.collect,
                    )
                )
            elif isinstance(inp.source, ItemSource) and s.for_each and isinstance(s.for_each.source, StepOutputSource):
                up = s.for_each.source
                wires.append(
                    ArtifactWire(
                        producer=dns[up.step],
                        output=up.output,
                        consumer=s.dns_name,
                        input=inp.name,
                        collect=False,
                    )
                )
    return StructuralSummary(
        steps=tuple(sorted(s.dns_name for s in ir.steps)),
        edges=tuple(edges),
        fan_outs=tuple(sorted(fan_outs, key=lambda f: f.step)),
        parallelism=ir.parallelism,
        artifacts=tuple(sorted(wires, key=lambda w: (w.consumer, w.input))),
        on_exit=ir.on_exit.dns_name if ir.on_exit else None,
    )
