"""``flowyard compare``: how each backend maps one pipeline, side by side.

For every backend: does it compile, how big is the output and how many engine objects, which
features it maps natively, which it emulates and which it refuses, its effective semantics
(parallelism, retries) and, with ``--run``, for backends that can run here: wall time, task count
and whether their outputs agree. Rendered as a terminal table, JSON, Markdown or a self-contained
HTML page (no scripts or fonts fetched; the DAG drawn as inline SVG by :func:`flowyard._graph.to_svg`).
"""

from __future__ import annotations

import html
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flowyard.backend import Capability, required_features
from flowyard.errors import FlowyardError
from flowyard.ir import PipelineIR
from flowyard.plugins import BackendRegistry


@dataclass
class RunOutcome:
    state: str
    seconds: float
    tasks: int
    outputs: dict[str, Any] | None = None
    error: str = ""


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
    semantics: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    document: str = ""
    run: RunOutcome | None = None


@dataclass
class ComparisonReport:
    pipeline: str
    features: list[str]
    backends: list[BackendComparison]
    outputs_agree: bool | None = None
    graph_svg: str = ""


def compare_backends(
    ir: PipelineIR,
    registry: BackendRegistry,
    names: list[str],
    *,
    run: bool = False,
    params: dict[str, Any] | None = None,
    options: tuple[str, ...] = (),
) -> ComparisonReport:
    """``options``: ``BACKEND.KEY=VALUE`` pairs, each given to that backend only (``argo.image_map=FILE``)."""
    from flowyard._graph import to_svg
    from flowyard.backend import parse_option_pairs

    per_backend: dict[str, list[str]] = {}
    for pair in options:
        backend, dot, rest = pair.partition(".")
        if not dot or "=" not in rest or "=" in backend:
            raise FlowyardError(f"expected -O BACKEND.KEY=VALUE, got {pair!r}")
        per_backend.setdefault(backend, []).append(rest)
    unknown = sorted(set(per_backend) - set(names))
    if unknown:
        raise FlowyardError(f"-O names a backend not compared: {', '.join(unknown)}")
    created = {name: parse_option_pairs(per_backend[name]) if name in per_backend else None for name in names}

    needed = sorted({u.feature for u in required_features(ir)})
    rows = [_compare_one(ir, registry, name, created[name], needed, run, params or {}) for name in names]
    ran = [r.run.outputs for r in rows if r.run is not None and r.run.outputs is not None]
    agree = all(o == ran[0] for o in ran) if len(ran) >= 2 else None
    return ComparisonReport(ir.name, needed, rows, agree, to_svg(ir))


def _compare_one(
    ir: PipelineIR,
    registry: BackendRegistry,
    name: str,
    options: dict[str, Any] | None,
    needed: list[str],
    run: bool,
    params: dict[str, Any],
) -> BackendComparison:
    backend = registry.create(name, options)
    report = backend.support(ir)
    emulated = {c.value for c in backend.emulated(ir)}
    refused = {u.feature for u in report.refused}
    row = BackendComparison(
        backend=name,
        compiles=False,
        refused=report.refusal_lines(),
        ignored=sorted({u.feature for u in report.ignored}),
        native=[f for f in needed if f not in refused | emulated | {u.feature for u in report.ignored}],
        emulated=sorted(emulated & set(needed)),
        semantics=backend.describe(ir),
    )
    if not report.ok:
        row.error = "refused"
        return row
    try:
        compiled = backend.compile(ir)
    except FlowyardError as e:
        row.error = str(e)
        return row
    row.compiles = True
    row.size_bytes = sum(len(f.content.encode()) for f in compiled.files)
    row.objects = dict(compiled.metadata.get("objects", {}))
    row.notes = list(compiled.notices)
    row.document = compiled.main.content
    if run and Capability.RUN in backend.capabilities:
        row.run = _run(backend, ir, params)
    return row


def _run(backend: Any, ir: PipelineIR, params: dict[str, Any]) -> RunOutcome:
    from flowyard._params import resolve_params
    from flowyard.runs import RunRequest, output_documents

    with tempfile.TemporaryDirectory(prefix="flowyard-compare-") as tmp:
        start = time.perf_counter()
        try:
            status = backend.run(ir, RunRequest(params=resolve_params(ir, (), params), runs_root=Path(tmp)))
        except FlowyardError as e:
            return RunOutcome("Error", time.perf_counter() - start, 0, error=str(e))
        seconds = time.perf_counter() - start
        outputs = output_documents(ir, status.outputs) if status.state.value == "Succeeded" else None
        return RunOutcome(status.state.value, seconds, len(status.tasks), outputs, status.message)


def report_json(report: ComparisonReport) -> dict[str, Any]:
    """The ``--json`` form, after the CLI's convention: ``schema_version``, durations in ``*_seconds``."""
    from flowyard._json_output import versioned

    data = asdict(report)
    data.pop("graph_svg")
    for row in data["backends"]:
        if row["run"] is not None:
            row["run"] = {"duration_seconds": round(row["run"].pop("seconds"), 4), **row["run"]}
    return versioned(data)


def render_report(report: ComparisonReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_json(report), indent=2, default=str)
    if fmt == "html":
        return _html(report)
    headers, rows = _table(report)
    if fmt == "markdown":
        out = [
            f"## `{report.pipeline}` across engines",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "---|" * len(headers),
        ]
        out += ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in r) + " |" for r in rows]
        out += ["", _agreement(report)] if report.outputs_agree is not None else []
        return "\n".join(out) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)] if rows else []
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if report.outputs_agree is not None:
        lines += ["", _agreement(report)]
    return "\n".join(line.rstrip() for line in lines)


def _agreement(report: ComparisonReport) -> str:
    ran = [b.backend for b in report.backends if b.run is not None and b.run.outputs is not None]
    verdict = "agree" if report.outputs_agree else "DIFFER"
    return f"outputs of {', '.join(ran)}: {verdict}"


def _table(report: ComparisonReport) -> tuple[list[str], list[list[str]]]:
    headers = ["backend", "compiles", "size", "objects", "native", "emulated", "refused", "ignored", "semantics"]
    if any(b.run is not None for b in report.backends):
        headers += ["run"]
    rows = []
    for b in report.backends:
        row = [
            b.backend,
            "yes" if b.compiles else "no",
            f"{b.size_bytes:,} B" if b.size_bytes is not None else "-",
            ", ".join(f"{n} {k}" for k, n in b.objects.items()) or "-",
            ", ".join(b.native) or "-",
            ", ".join(b.emulated) or "-",
            "; ".join(b.refused) or (b.error or "-"),
            ", ".join(b.ignored) or "-",
            "; ".join(f"{k}: {v}" for k, v in b.semantics.items()) or "-",
        ]
        if "run" in headers:
            r = b.run
            row.append(f"{r.state} in {r.seconds:.2f}s, {r.tasks} tasks" if r else "-")
        rows.append(row)
    return headers, rows


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.35rem .5rem;vertical-align:top;font-size:.9rem;text-align:left}
th{background:#f0f3f7}
.sides{display:flex;gap:1rem;align-items:flex-start}
.side{flex:1;min-width:0;border:1px solid #ddd;border-radius:6px;padding:.5rem}
pre{white-space:pre-wrap;word-break:break-all;font-size:.75rem;max-height:32rem;overflow:auto;background:#fafafa}
.agree{color:#176b2c}.differ{color:#a11}
"""


def _html(report: ComparisonReport) -> str:
    e = html.escape
    headers, rows = _table(report)
    table = "<table class='comparison'><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>"
    table += "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>"
    agreement = ""
    if report.outputs_agree is not None:
        cls = "agree" if report.outputs_agree else "differ"
        agreement = f"<p class='{cls}'>{e(_agreement(report))}</p>"
    sides = []
    for b in report.backends:
        body = f"<pre>{e(_clip(b.document))}</pre>" if b.document else f"<p>{e(b.error or 'not compiled')}</p>"
        if b.run is not None:
            outputs = (
                json.dumps(b.run.outputs, indent=2, ensure_ascii=False) if b.run.outputs is not None else b.run.error
            )
            body += f"<h4>run: {e(b.run.state)} in {b.run.seconds:.2f}s</h4><pre>{e(outputs)}</pre>"
        sides.append(f"<div class='side' data-backend='{e(b.backend)}'><h3>{e(b.backend)}</h3>{body}</div>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(report.pipeline)} across engines</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(report.pipeline)} across engines</h1>"
        f"<p>Features used: {e(', '.join(report.features))}</p>"
        f"<h2>Graph</h2>{report.graph_svg}<h2>Engines</h2>{table}{agreement}"
        f"<h2>Side by side</h2><div class='sides'>{''.join(sides)}</div></body></html>\n"
    )


def _clip(text: str, lines: int = 400) -> str:
    parts = text.splitlines()
    return "\n".join(parts[:lines]) + (f"\n… {len(parts) - lines} more lines" if len(parts) > lines else "")
