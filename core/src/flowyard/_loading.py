"""Reading pipelines from YAML, JSON or Python, with errors that name the file, line and field.

This is the I/O edge of the spec: it resolves ``uses:`` (reusable step files) so that lowering stays a
pure function, and it keeps a map from field paths to lines so lowering's problems carry a line too.
"""

from __future__ import annotations

import importlib.util
import os
import reprlib
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flowyard._bounded_yaml import DocumentError, parse_yaml, read_bounded
from flowyard._lowering import Loc, lower
from flowyard.errors import Problem, SpecError, SpecFileNotFoundError
from flowyard.ir import PipelineIR, SourceInfo
from flowyard.spec import API_VERSION, Pipeline, Step, StepFile


@dataclass(frozen=True)
class Document:
    """Parsed data plus where each part of it is in the file."""

    data: Any
    file: str
    node: yaml.Node | None

    def locate(self, loc: Loc) -> int | None:
        """1-based line of the deepest node on ``loc`` that exists in the file."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        nxt, line = v, k.start_mark.line + 1
                        break
                if nxt is None:
                    continue  # a pydantic tag such as 'function-after[...]': skip it
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                continue
        return line


def read_document(path: Path) -> Document:
    """Parse a YAML or JSON file (JSON through the YAML parser, so it gets line numbers too), within
    :mod:`flowyard._bounded_yaml`'s bounds."""
    display = str(path)
    try:
        data, node = parse_yaml(read_bounded(path))
    except FileNotFoundError:
        raise SpecFileNotFoundError(display) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Problem("", f"cannot read the file: {e}", file=display)]) from None
    except DocumentError as e:
        raise SpecError([Problem(e.field, e.problem, file=display, line=e.line)]) from None
    return Document(data=data, file=display, node=node)


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags from an error location, keeping real keys and indices."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if (isinstance(cur, Mapping) and part in cur) or (
            isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        ):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, Mapping) and isinstance(part, str) and not _is_tag(part):
            out.append(part)  # a missing or unknown key
            cur = None
    return tuple(out)


def _is_tag(part: str) -> bool:
    return "[" in part or part in {
        "str",
        "int",
        "float",
        "bool",
        "list",
        "dict",
        "none",
        "Retry",
        "local",
        "s3",
    }


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def _describe(value: Any) -> str:
    """At most 60 characters of a value, never rendering more of it than is shown (it may be huge)."""
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from_validation(
    error: ValidationError,
    data: Any,
    file: str | None,
    locate: Callable[[Loc], int | None] | None,
    prefix: Loc = (),
) -> list[Problem]:
    """Turn pydantic's errors into one problem per field, in words a spec author understands."""
    by_loc: dict[tuple[str | int, ...], list[str]] = {}
    for err in error.errors():
        loc = _clean_loc(data, err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}" if loc else "unknown field"
            loc = (*loc[:-1], loc[-1]) if loc else loc
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "literal_error":
            msg = f"expected {err['ctx']['expected']}, got {_describe(err.get('input'))}"
        elif kind == "union_tag_invalid":
            msg = f"expected one of {err['ctx']['expected_tags']}, got {_describe(err.get('input'))}"
        else:
            text = str(err["ctx"]["error"]) if kind == "value_error" and "error" in err.get("ctx", {}) else err["msg"]
            text = text[0].lower() + text[1:] if text else text
            msg = f"{text}, got {_describe(err.get('input'))}" if "input" in err else text
        by_loc.setdefault(loc, [])
        if msg not in by_loc[loc]:
            by_loc[loc].append(msg)
    problems = []
    for loc, msgs in by_loc.items():
        full = (*prefix, *loc)
        message = msgs[0] if len(msgs) == 1 else "expected one of: " + "; or ".join(msgs)
        line = locate(full) if locate else None
        problems.append(Problem(".".join(str(p) for p in full), message, file=file, line=line))
    return problems


def _check_header(doc: Document, kind: str) -> None:
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError(
            [
                Problem(
                    "",
                    f"expected a mapping with 'apiVersion: {API_VERSION}' and 'kind: {kind}'",
                    file=doc.file,
                    line=1,
                )
            ]
        )
    version = data.get("apiVersion")
    if version != API_VERSION:
        found = "missing" if version is None else f"got {version!r}"
        raise SpecError(
            [
                Problem(
                    "apiVersion",
                    f"expected {API_VERSION!r} ({found})",
                    file=doc.file,
                    line=doc.locate(("apiVersion",)),
                )
            ]
        )
    if data.get("kind", "Pipeline" if kind == "Pipeline" else None) != kind:
        raise SpecError(
            [
                Problem(
                    "kind",
                    f"expected {kind!r}, got {data.get('kind')!r}",
                    file=doc.file,
                    line=doc.locate(("kind",)),
                )
            ]
        )


USES_PATH_VARIABLE = "FLOWYARD_USES_PATH"


def uses_roots(base_dir: Path, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders ``uses:`` may read from: the pipeline's own folder (and its subfolders), then each
    folder listed in ``$FLOWYARD_USES_PATH`` (separated as ``PATH`` is)."""
    env = os.environ if environ is None else environ
    extra = [Path(p).expanduser().resolve() for p in env.get(USES_PATH_VARIABLE, "").split(os.pathsep) if p]
    return (base_dir.resolve(), *extra)


def _uses_path(ref: str, from_dir: Path, roots: tuple[Path, ...], field: str, file: str | None) -> Path:
    """The file a ``uses:`` names, refused before it is opened unless it is a file inside the roots."""
    path = (from_dir / ref).resolve()
    if not any(path.is_relative_to(root) for root in roots):
        raise SpecError(
            [
                Problem(
                    field,
                    f"{ref!r} is outside the pipeline's folder {roots[0]}: a reusable step must be in it or "
                    f"under a folder listed in ${USES_PATH_VARIABLE}",
                    file=file,
                )
            ]
        )
    if not path.is_file():
        raise SpecError([Problem(field, f"no reusable step file {ref!r} (looked for {path})", file=file)])
    return path


def _load_step_file(path: Path, chain: tuple[Path, ...], roots: tuple[Path, ...]) -> Step:
    if path in chain:
        raise SpecError(
            [
                Problem(
                    "uses",
                    "reusable steps use each other in a cycle: " + " -> ".join(str(p) for p in (*chain, path)),
                    file=str(chain[-1]),
                )
            ]
        )
    doc = read_document(path)
    _check_header(doc, "Step")
    try:
        step = StepFile.model_validate(doc.data)
    except ValidationError as e:
        raise SpecError(problems_from_validation(e, doc.data, doc.file, doc.locate)) from None
    plain = Step.model_validate(step.model_dump(exclude_unset=True, exclude={"api_version", "kind"}))
    if plain.uses:
        base_path = _uses_path(plain.uses, path.parent, roots, "uses", doc.file)
        plain = plain.merged_over(_load_step_file(base_path, (*chain, path), roots))
    return plain


def resolve_uses(
    pipeline: Pipeline, base_dir: Path, file: str | None = None, roots: tuple[Path, ...] | None = None
) -> Pipeline:
    """Replace every ``uses:`` by the reusable step it names, merged under the step's own fields.

    Only files under ``roots`` (default: :func:`uses_roots`) are read: a spec from elsewhere must not
    make flowyard open any file it can name."""
    if not any(s.uses for s in pipeline.steps.values()) and not (pipeline.on_exit and pipeline.on_exit.uses):
        return pipeline
    roots = uses_roots(base_dir) if roots is None else roots
    chain = (Path(file or "<pipeline>"),)
    steps = {}
    for name, step in pipeline.steps.items():
        if step.uses:
            path = _uses_path(step.uses, base_dir, roots, f"steps.{name}.uses", file)
            step = step.merged_over(_load_step_file(path, chain, roots))
        steps[name] = step
    on_exit = pipeline.on_exit
    if on_exit is not None and on_exit.uses:
        path = _uses_path(on_exit.uses, base_dir, roots, "on_exit.uses", file)
        on_exit = on_exit.merged_over(_load_step_file(path, chain, roots))
    return pipeline.model_copy(update={"steps": steps, "on_exit": on_exit})


@dataclass(frozen=True)
class LoadedPipeline:
    """A spec as loaded, with what is needed to point at its lines."""

    spec: Pipeline
    source: SourceInfo
    document: Document | None = None

    def lower(self) -> PipelineIR:
        locate = self.document.locate if self.document else None
        return lower(self.spec, locate=locate, source=self.source)


def _load_python(ref: str) -> LoadedPipeline:
    file, _, attr = ref.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise SpecFileNotFoundError(file)
    module_name = f"_flowyard_spec_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SpecError([Problem("", "cannot import this file", file=file)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SpecError:
        raise
    except ValidationError as e:
        raise SpecError(problems_from_validation(e, None, file, None)) from None
    except Exception as e:  # noqa: BLE001 - the user's module failed: any exception is theirs; say where
        frames = traceback.extract_tb(e.__traceback__)
        line = next((f.lineno for f in reversed(frames) if f.filename == str(path)), None)
        raise SpecError([Problem("", f"importing it failed: {type(e).__name__}: {e}", file=file, line=line)]) from None
    finally:
        sys.modules.pop(module_name, None)
    obj = getattr(module, attr, None)
    if obj is None:
        raise SpecError([Problem(attr, f"the module has no attribute {attr!r}", file=file)])
    if callable(obj) and not isinstance(obj, Pipeline):
        obj = obj()
    if not isinstance(obj, Pipeline):
        raise SpecError([Problem(attr, f"expected a flowyard Pipeline, got {type(obj).__name__}", file=file)])
    directory = path.resolve().parent
    pipeline = resolve_uses(obj, directory, file)
    return LoadedPipeline(pipeline, SourceInfo(file=str(path), directory=str(directory)))


def load_pipeline(ref: str | os.PathLike[str]) -> LoadedPipeline:
    """Load ``pipeline.yaml``, ``pipeline.json`` or ``file.py:attribute`` (a Pipeline, or a function
    returning one)."""
    text = os.fspath(ref)
    if ":" in text and text.rpartition(":")[0].endswith(".py"):
        return _load_python(text)
    path = Path(text)
    if path.suffix == ".py":
        what = "a Pipeline, or a function returning one"
        expected = f"name the attribute that holds the pipeline: {text}:ATTRIBUTE ({what})"
        raise SpecError([Problem("", expected, file=text)])
    doc = read_document(path)
    _check_header(doc, "Pipeline")
    try:
        pipeline = Pipeline.model_validate(doc.data)
    except ValidationError as e:
        raise SpecError(problems_from_validation(e, doc.data, doc.file, doc.locate)) from None
    directory = path.resolve().parent
    pipeline = resolve_uses(pipeline, directory, doc.file)
    return LoadedPipeline(pipeline, SourceInfo(file=str(path), directory=str(directory)), doc)


def load_ir(ref: str | os.PathLike[str]) -> PipelineIR:
    """Load and lower in one go: what every command that takes a PIPELINE does."""
    return load_pipeline(ref).lower()
