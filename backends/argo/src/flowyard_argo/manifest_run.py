"""``flowyard run MANIFEST.yaml`` for an Argo manifest, and ``flowyard run PIPELINE --backend argo``: the executor
run in a run folder of core's layout, reported as core's :class:`~flowyard.runs.RunStatus` plus the Argo node tree."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import yaml
from flowyard.errors import FlowyardError
from flowyard.hookspecs import DocumentRun
from flowyard.runs import RunStatus, TaskStatus, runs_root, write_atomic

from flowyard_argo.options import ArgoOptions

_ITEM = re.compile(r"\((\d+):")
RETRY_FILE = "retry.json"  # what `flowyard run --resume NAME --backend argo` needs to run it again


class ManifestRefused(FlowyardError):
    """The controller would reject the manifest, or it uses what cannot run here (exit 2)."""


def _options(pairs: tuple[str, ...]) -> ArgoOptions:
    from flowyard.backend import parse_option_pairs

    from flowyard_argo.backend import ArgoBackend

    return ArgoBackend(parse_option_pairs(list(pairs))).options


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FlowyardError(f"expected -p NAME=VALUE, got {pair!r}")
        out[key] = value
    return out


def run_document(request: DocumentRun) -> int:
    """Run the manifest at ``request.path``; print the status tree (or JSON); the exit code."""
    options = _options(request.options)
    status, tree = execute_manifest(
        dict(request.document),
        options,
        source=request.path,
        params=_params(request.params),
        entrypoint=request.entrypoint,
        name=request.name,
    )
    if request.as_json:
        click.echo(json.dumps(status.summary_json(), indent=2))
    else:
        for notice in status.notices:
            click.echo(f"notice: {notice}", err=True)
        click.echo(tree)
        click.echo(f"\n{status.state.value}  {status.location}" + (f"  {status.message}" if status.message else ""))
    return status.exit_code


def execute_manifest(
    document: Mapping[str, Any],
    options: ArgoOptions,
    *,
    source: str,
    params: Mapping[str, str] | None = None,
    entrypoint: str | None = None,
    name: str | None = None,
    pipeline: str | None = None,
    root: Path | None = None,
) -> tuple[RunStatus, str]:
    """Check and run one Argo document; (core's run status, the ``argo get``-style tree)."""
    from flowyard_argo.executor.images import ImageError, ImageMap
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.executor.workflow import ManifestError, prepare

    version = argo_version(options.argo_version)
    try:
        images = ImageMap.load(options.image_map)
        wf, notices = prepare(
            document, version, source=source, params=params, entrypoint=entrypoint, name=name, images=images
        )
        artifacts = _artifact_settings(wf["spec"], _artifact_options(options))
    except (ManifestError, ImageError) as e:
        raise ManifestRefused(str(e)) from None
    if not name and not (document.get("metadata") or {}).get("name"):
        wf["metadata"]["name"] = wf["metadata"]["name"][:-5] + "".join(
            secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)
        )
    run_name = wf["metadata"]["name"]
    folder = runs_root(root) / run_name
    if folder.exists():
        raise ManifestRefused(f"a run named {run_name!r} exists already ({folder}); pass another --name")
    folder.mkdir(parents=True)
    write_atomic(folder / "manifest.yaml", yaml.safe_dump(dict(document), sort_keys=False).encode())
    image_map = str(Path(options.image_map).resolve()) if options.image_map else None
    saved = {"workflow": wf, "argo_version": options.argo_version, "image_map": image_map, "pipeline": pipeline}
    saved["artifacts"] = _artifact_options(options)
    write_atomic(folder / RETRY_FILE, json.dumps(saved).encode())
    return _execute(wf, version, images, folder, pipeline, notices, None, artifacts)


def _artifact_options(options: ArgoOptions) -> dict[str, Any]:
    """The artifact options as a retry needs them again (files as absolute paths)."""

    def absolute(path: str | None) -> str | None:
        return str(Path(path).resolve()) if path else None

    return {
        "repository": absolute(options.artifact_repository),
        "secrets": absolute(options.secrets),
        "endpoint": options.s3_endpoint,
        "allow_remote": options.allow_remote_endpoints,
    }


def _artifact_settings(spec: Mapping[str, Any], saved: Mapping[str, Any]) -> Any:
    from flowyard_argo.executor.artifacts.repository import RepositoryError
    from flowyard_argo.executor.artifacts.setup import artifact_settings

    try:
        return artifact_settings(spec, **saved)
    except RepositoryError as e:
        raise ManifestRefused(str(e)) from None


def retry_run(run_name: str, root: Path | None = None) -> tuple[RunStatus, str]:
    """``argo retry``: run the same workflow again in its folder; pods that succeeded are kept."""
    from flowyard_argo.executor.images import ImageError, ImageMap
    from flowyard_argo.executor.versions import argo_version

    folder = runs_root(root) / run_name
    if not (folder / RETRY_FILE).is_file():
        raise ManifestRefused(f"no argo run named {run_name!r} under {runs_root(root)}")
    saved = json.loads((folder / RETRY_FILE).read_text())
    status = json.loads((folder / "workflow.json").read_text())["status"]
    if status["phase"] == "Succeeded":
        raise ManifestRefused(
            "To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector "
            "(argo retry's; not available here)"
        )
    nodes = status["nodes"].values()
    exit_handler = f"{run_name}.onExit"  # the exit handler runs again, as argo retry resets it
    previous = {n["name"]: n for n in nodes if not n["name"].startswith(exit_handler)}
    try:
        images = ImageMap.load(saved["image_map"])
    except ImageError as e:
        raise ManifestRefused(str(e)) from None
    version = argo_version(saved["argo_version"])
    artifacts = _artifact_settings(saved["workflow"]["spec"], saved.get("artifacts") or {})
    return _execute(saved["workflow"], version, images, folder, saved["pipeline"], [], previous, artifacts)


def _execute(
    wf: Mapping[str, Any],
    version: Any,
    images: Any,
    folder: Path,
    pipeline: str | None,
    notices: list[str],
    previous: Mapping[str, Mapping[str, Any]] | None,
    artifacts: Any = None,
) -> tuple[RunStatus, str]:
    from flowyard_argo.executor.workflow import run_workflow

    started = _now()
    result = run_workflow(wf, version, images, folder, previous, artifacts)
    status = _run_status(result, wf["metadata"]["name"], pipeline, started, notices, folder)
    write_atomic(folder / "run.json", status.model_dump_json(indent=1).encode())
    tree = result.tree.render(result.root.id)
    if result.exit_node is not None:
        tree += "\n" + result.tree.render(result.exit_node.id)
    return status, tree


def _run_status(
    result: Any, run_name: str, pipeline: str | None, started: float, notices: list[str], folder: Path
) -> RunStatus:
    """The run in core's terms: one task per pod node (loop children numbered by their item index)."""
    tasks = tuple(
        TaskStatus(
            step=n.template or n.display_name,
            item=_item(n.display_name),
            state=n.phase,
            started_at=n.started_at,
            finished_at=n.finished_at,
            message=n.message,
            exit_code=int(n.outputs["exitCode"]) if "exitCode" in n.outputs else None,
            attempts=1,
        )
        for n in result.tree.pods()
    )
    return RunStatus(
        run_id=run_name,
        pipeline=pipeline or run_name,
        backend="argo",
        state=result.phase,
        started_at=started,
        finished_at=_now(),
        tasks=tasks,
        message=result.message,
        notices=tuple(notices),
        outputs={k: v for k, v in result.outputs.items()},
        location=str(folder),
    )


def _item(display: str) -> int | None:
    match = _ITEM.search(display)
    return int(match.group(1)) if match else None


def _now() -> float:
    import time

    return time.time()
