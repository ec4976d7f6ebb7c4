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


def _levels(ir: PipelineIR) -> dict[str, int]:
    """Each step's depth: the longest chain of dependencies above it (steps are in topological order)."""
    level: dict[str, int] = {}
    for s in ir.steps:
        level[s.name] = 1 + max((level[d] for d in s.depends_on), default=-1)
    if ir.on_exit is not None:
        level[ir.on_exit.name] = 1 + max(level.values(), default=-1)
    return level


def to_svg(ir: PipelineIR, *, box_width: int = 190, box_height: int = 40, gap_x: int = 30, gap_y: int = 46) -> str:
    """The DAG as a self-contained inline SVG: layered top to bottom, no scripts, no fonts fetched."""
    from html import escape

    level = _levels(ir)
    rows: dict[int, list[str]] = {}
    for s in ir.all_steps:
        rows.setdefault(level[s.name], []).append(s.name)
    width = max(len(r) for r in rows.values()) * (box_width + gap_x) + gap_x
    height = len(rows) * (box_height + gap_y) + gap_y
    pos: dict[str, tuple[int, int]] = {}
    for depth, names in rows.items():
        offset = (width - len(names) * (box_width + gap_x) + gap_x) // 2
        for i, name in enumerate(names):
            pos[name] = (offset + i * (box_width + gap_x), gap_y // 2 + depth * (box_height + gap_y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(ir.name)} graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for a, b, label in _edges(ir):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        sx, sy, ex, ey = x1 + box_width // 2, y1 + box_height, x2 + box_width // 2, y2
        dash = "" if label else ' stroke-dasharray="4 3"'
        parts.append(
            f'<path class="edge" d="M {sx} {sy} C {sx} {sy + gap_y // 2}, {ex} {ey - gap_y // 2}, {ex} {ey}" '
            f'fill="none" stroke="#555"{dash} marker-end="url(#arrow)"><title>{escape(label or "after")}</title></path>'
        )
    for s in ir.all_steps:
        x, y = pos[s.name]
        exit_step = ir.on_exit is not None and s.name == ir.on_exit.name
        fill = "#fff7e6" if exit_step else ("#e8f1fb" if s.for_each else "#f4f4f4")
        if s.for_each:  # a stacked look for fan-outs
            parts.append(
                f'<rect x="{x + 4}" y="{y - 4}" width="{box_width}" height="{box_height}" rx="6" '
                f'fill="{fill}" stroke="#7a9cc6"/>'
            )
        parts.append(
            f'<g class="node" data-step="{escape(s.name)}"><rect x="{x}" y="{y}" width="{box_width}" '
            f'height="{box_height}" rx="6" fill="{fill}" stroke="#3b6ea5"/>'
            f'<text x="{x + box_width // 2}" y="{y + box_height // 2 + 4}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="12">{escape(_label(s)[:32])}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
