"""``flowyard compare``: how each backend maps one pipeline, side by side."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

from flowyard.backend import required_features
from flowyard.errors import FlowyardError
from flowyard.ir import PipelineIR
from flowyard.plugins import BackendRegistry


@dataclass
class BackendComparison:
    backend: str
    compiles: bool
    error: str = ""
    size_bytes: int | None = None
    objects: dict[str, int] = field(default_factory=dict)
    native: list[str] = field(default_factory=list)
    emulated: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ComparisonReport:
    pipeline: str
    features: list[str]
    backends: list[BackendComparison]


def compare_backends(ir: PipelineIR, registry: BackendRegistry, names: list[str]) -> ComparisonReport:
    needed = sorted({u.capability.value for u in required_features(ir)})
    rows = []
    for name in names:
        backend = registry.create(name)
        report = backend.support(ir)
        row = BackendComparison(
            backend=name,
            compiles=False,
            refused=report.refusal_lines(),
            ignored=sorted({u.capability.value for u in report.ignored}),
        )
        emulated = {c.value for c in backend.emulated(ir)}
        refused = {u.capability.value for u in report.refused}
        row.native = [f for f in needed if f not in refused | emulated | set(row.ignored)]
        row.emulated = sorted(emulated & set(needed))
        if report.ok:
            try:
                compiled = backend.compile(ir)
            except FlowyardError as e:
                row.error = str(e)
            else:
                row.compiles = True
                row.size_bytes = sum(len(f.content.encode()) for f in compiled.files)
                row.objects = dict(compiled.metadata.get("objects", {}))
                row.notes = list(compiled.notices)
        else:
            row.error = "refused: " + "; ".join(row.refused)
        rows.append(row)
    return ComparisonReport(pipeline=ir.name, features=needed, backends=rows)


def _objects(row: BackendComparison) -> str:
    return ", ".join(f"{n} {k}" for k, n in row.objects.items()) or "-"


def render_report(report: ComparisonReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            {
                "pipeline": report.pipeline,
                "features": report.features,
                "backends": [asdict(b) for b in report.backends],
            },
            indent=2,
        )
    headers = ["backend", "compiles", "size", "objects", "native", "emulated", "refused", "ignored"]
    rows = [
        [
            b.backend,
            "yes" if b.compiles else "no",
            f"{b.size_bytes:,} B" if b.size_bytes is not None else "-",
            _objects(b),
            ", ".join(b.native) or "-",
            ", ".join(b.emulated) or "-",
            "; ".join(b.refused) or (b.error or "-"),
            ", ".join(b.ignored) or "-",
        ]
        for b in report.backends
    ]
    if fmt == "markdown":
        out = [
            f"## `{report.pipeline}` across engines",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "---|" * len(headers),
        ]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        return "\n".join(out) + "\n"
    if fmt == "html":
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.pipeline)}</title>"
            f"</head><body><h1>{html.escape(report.pipeline)}</h1><table><tr>{cells}</tr>{body}</table>"
            "</body></html>\n"
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)] if rows else []
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
