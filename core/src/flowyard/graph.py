"""Draw a pipeline's DAG as Mermaid or Graphviz dot text (``flowyard graph``)."""

from __future__ import annotations

import json

from flowyard.ir import LiteralSource, ParamSource, PipelineIR, StepIR, StepOutputSource


def _label(step: StepIR) -> str:
    label = step.name
    if step.for_each is not None:
        src = step.for_each.source
        if isinstance(src, ParamSource):
            over = f"params.{src.name}"
        elif isinstance(src, StepOutputSource):
            over = f"{src.step}.{src.output}"
        else:
            assert isinstance(src, LiteralSource)
            over = f"{len(src.value)} items"
        label += f" ×{over}"
        if step.parallelism:
            label += f" ≤{step.parallelism}"
    if step.when is not None:
        label += f" if {step.when.text}"
    return label


def _edges(ir: PipelineIR) -> list[tuple[str, str, str]]:
    """(upstream, downstream, label) with the data that flows, or '' for ordering only."""
    out = []
    for s in ir.steps:
        for dep in s.depends_on:
            data = [
                i.name + ("[*]" if isinstance(i.source, StepOutputSource) and i.source.collect else "")
                for i in s.inputs
                if isinstance(i.source, StepOutputSource) and i.source.step == dep
            ]
            if s.for_each and isinstance(s.for_each.source, StepOutputSource) and s.for_each.source.step == dep:
                data.append("for_each")
            out.append((dep, s.name, ", ".join(data)))
    return out


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(ir: PipelineIR) -> str:
    ids = {s.name: f"s{i}" for i, s in enumerate(ir.all_steps)}
    lines = ["flowchart TD"]
    for s in ir.all_steps:
        shape = ("[[", "]]") if s.for_each else ("[", "]")
        lines.append(f"    {ids[s.name]}{shape[0]}{_mermaid_text(_label(s))}{shape[1]}")
    for a, b, label in _edges(ir):
        arrow = f"-->|{_mermaid_text(label)}|" if label else "-.->"
        lines.append(f"    {ids[a]} {arrow} {ids[b]}")
    if ir.on_exit is not None:
        lines.append(f"    classDef exit stroke-dasharray: 4 2\n    class {ids[ir.on_exit.name]} exit")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_dot(ir: PipelineIR) -> str:
    lines = [f"digraph {_dot(ir.name)} {{", "  rankdir=TB;", "  node [shape=box];"]
    for s in ir.all_steps:
        attrs = [f"label={_dot(_label(s))}"]
        if s.for_each:
            attrs.append("peripheries=2")
        if ir.on_exit is not None and s.name == ir.on_exit.name:
            attrs.append("style=dashed")
        lines.append(f"  {_dot(s.name)} [{', '.join(attrs)}];")
    for a, b, label in _edges(ir):
        attr = f" [label={_dot(label)}]" if label else " [style=dashed]"
        lines.append(f"  {_dot(a)} -> {_dot(b)}{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"
