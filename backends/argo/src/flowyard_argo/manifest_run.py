"""``flowyard run MANIFEST.yaml`` for an Argo manifest, and ``flowyard run PIPELINE --backend argo``: the executor
run in a run folder of core's layout (:class:`~flowyard.runs.RunDirectory`: run.json, journal.jsonl, each pod's
logs and provenance under tasks/), reported as core's :class:`~flowyard.runs.RunStatus` plus the Argo node tree.

``retry.json`` holds what ``--resume`` needs besides the journal: the prepared workflow and the options it ran with."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml
from flowyard.errors import FlowyardError
from flowyard.hookspecs import DocumentRun
from flowyard.runs import RunDirectory, RunStatus, TaskState, runs_root, write_atomic

from flowyard_argo.options import ArgoOptions

if TYPE_CHECKING:
    from flowyard_argo.executor.artifacts.transfer import ArtifactSettings
    from flowyard_argo.executor.images import ImageMap
    from flowyard_argo.executor.record import PipelineTasks

RETRY_FILE = "retry.json"  # what `flowyard run --resume NAME --backend argo` needs to run it again


class ManifestRefused(FlowyardError):
    """The controller would reject the manifest, or it uses what cannot run here (exit 2)."""


@dataclass(frozen=True)
class RunSettings:
    """What a prepared workflow runs with, built once and saved as ``retry.json``: ``--resume`` runs it again
    with the same release, image map, ConfigMaps and artifact options (files as absolute paths)."""

    workflow: Mapping[str, Any]
    argo_version: str | None
    image_map: str | None
    pipeline: str | None
    configmaps: Mapping[str, Mapping[str, Any]]
    artifacts: Mapping[str, Any]
    step_names: Mapping[str, str] | None = None  # a pipeline's: task name -> step name, as its tasks are named

    def saved(self, path: Path) -> RunSettings:
        write_atomic(path, json.dumps(asdict(self)).encode())
        return self

    @classmethod
    def read(cls, path: Path) -> RunSettings:
        saved = json.loads(path.read_text(encoding="utf-8"))
        given = {f.name: saved.get(f.name) for f in fields(cls)}
        return cls(**{**given, "configmaps": given["configmaps"] or {}, "artifacts": given["artifacts"] or {}})


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
    import sys

    options = _options(request.options)
    beside = [d for d in request.beside if isinstance(d, Mapping)]
    runnable = [str(d.get("kind")) for d in beside if str(d.get("apiVersion", "")).startswith("argoproj.io/")]
    if runnable:
        kinds = ", ".join([str(request.document.get("kind")), *runnable])
        raise ManifestRefused(f"{request.path}: several Argo documents in one file ({kinds}): flowyard run runs one")
    status, tree = execute_manifest(
        dict(request.document),
        options,
        source=request.path,
        params=_params(request.params),
        entrypoint=request.entrypoint,
        name=request.name,
        beside=beside,
        progress="quiet" if request.as_json else "live" if sys.stderr.isatty() else "plain",
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
    beside: Sequence[Mapping[str, Any]] = (),
    progress: str = "quiet",
    tasks: PipelineTasks | None = None,
) -> tuple[RunStatus, str]:
    """Check and run one Argo document; (core's run status, the ``argo get``-style tree). ``beside``: the other
    documents of its file (its ConfigMaps are read)."""
    from flowyard_argo.executor.configmaps import ConfigMapError, ConfigMaps
    from flowyard_argo.executor.images import ImageError, ImageMap
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.executor.workflow import ManifestError, prepare

    version = argo_version(options.argo_version)
    try:
        images = ImageMap.load(options.image_map)
        configmaps = ConfigMaps.load(options.configmaps, beside)
        others = sorted({str(d.get("kind")) for d in beside if d.get("kind") != "ConfigMap"})
        wf, notices = prepare(
            document,
            version,
            source=source,
            params=params,
            entrypoint=entrypoint,
            name=name,
            images=images,
            configmaps=configmaps,
        )
        artifacts = _artifact_settings(wf["spec"], _artifact_options(options))  # refused before a run folder is made
    except (ManifestError, ImageError, ConfigMapError) as e:
        raise ManifestRefused(str(e)) from None
    notices += [f"ignored here: the file's other documents ({', '.join(others)})"] if others else []
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
    settings = RunSettings(
        workflow=wf,
        argo_version=options.argo_version,
        image_map=str(Path(options.image_map).resolve()) if options.image_map else None,
        pipeline=pipeline,
        configmaps={k: dict(v) for k, v in configmaps.maps.items()},
        artifacts=_artifact_options(options),
        step_names=tasks.names if tasks is not None else None,
    ).saved(folder / RETRY_FILE)
    return _execute(settings, RunDirectory(folder), images, artifacts, notices=notices, progress=progress, tasks=tasks)


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


def _artifact_settings(spec: Mapping[str, Any], saved: Mapping[str, Any]) -> ArtifactSettings:
    from flowyard_argo.executor.artifacts.repository import RepositoryError
    from flowyard_argo.executor.artifacts.setup import artifact_settings

    try:
        return artifact_settings(spec, **saved)
    except RepositoryError as e:
        raise ManifestRefused(str(e)) from None


def retry_run(run_name: str, root: Path | None = None, *, progress: str = "quiet") -> tuple[RunStatus, str]:
    """``argo retry``: run the same workflow again in its folder; pods that succeeded (as its journal recorded
    them, so a run that was killed can be retried too) are kept."""
    from flowyard_argo.executor.record import previous_nodes

    directory = RunDirectory(runs_root(root) / run_name)
    if not (directory.path / RETRY_FILE).is_file():
        raise ManifestRefused(f"no argo run named {run_name!r} under {runs_root(root)}")
    settings = RunSettings.read(directory.path / RETRY_FILE)
    if directory.status_file.is_file() and directory.read_status().state is TaskState.SUCCEEDED:
        raise ManifestRefused(
            "To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector "
            "(argo retry's; not available here)"
        )
    # the exit handler runs again, as argo retry resets it
    previous = previous_nodes(directory.journal_file, skip_prefix=f"{run_name}.onExit")
    images, artifacts = _loaded(settings)
    return _execute(settings, directory, images, artifacts, previous=previous, progress=progress)


def _loaded(settings: RunSettings) -> tuple[ImageMap, ArtifactSettings]:
    """The image map and artifact settings a saved run goes on with (a retry reads them again)."""
    from flowyard_argo.executor.images import ImageError, ImageMap

    try:
        images = ImageMap.load(settings.image_map)
    except ImageError as e:
        raise ManifestRefused(str(e)) from None
    return images, _artifact_settings(settings.workflow["spec"], settings.artifacts)


def _execute(
    settings: RunSettings,
    directory: RunDirectory,
    images: ImageMap,
    artifacts: ArtifactSettings,
    *,
    notices: Sequence[str] = (),
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    progress: str = "quiet",
    tasks: PipelineTasks | None = None,
) -> tuple[RunStatus, str]:
    """Run the workflow in its folder, with the image map and artifact settings loaded once (the first run refuses
    by them before its folder is made): run.json says Running from the start and follows the pods as they end."""
    from flowyard_argo.executor.configmaps import ConfigMaps
    from flowyard_argo.executor.record import RunRecord
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.executor.workflow import run_workflow
    from flowyard_argo.reported_tasks import exit_alternatives

    wf = settings.workflow
    header = _running(settings, directory, notices)
    directory.write_status(header)
    record = RunRecord(
        directory,
        header,
        secret_source=artifacts.secrets.known,
        progress=progress,
        pipeline=tasks,
        step_names=settings.step_names,
        exit_templates=exit_alternatives(wf),
    )
    try:
        result = run_workflow(
            wf,
            argo_version(settings.argo_version),
            images,
            directory.path,
            previous,
            ConfigMaps(settings.configmaps, dict(os.environ)),
            _notice,
            record=record,
            artifact_settings=artifacts,
        )
    finally:
        record.close()
    status = with_cause(
        record.status(
            result.tree, state=result.phase, finished_at=_now(), message=result.message, outputs=dict(result.outputs)
        )
    )
    directory.write_status(status)
    tree = result.tree.render(result.root.id)
    if result.exit_node is not None:
        tree += "\n" + result.tree.render(result.exit_node.id)
    return status, record.masked(tree)


def _running(settings: RunSettings, directory: RunDirectory, notices: Sequence[str]) -> RunStatus:
    """run.json as the run starts: Running, its tasks to come."""
    run_name = settings.workflow["metadata"]["name"]
    return RunStatus(
        run_id=run_name,
        pipeline=settings.pipeline or run_name,
        backend="argo",
        state=TaskState.RUNNING,
        started_at=_now(),
        notices=tuple(notices),
        location=str(directory.path),
    )


def with_cause(status: RunStatus) -> RunStatus:
    """A failed run's message followed by its first failed pod's own (the controller's names only the task), as a
    local run's names its first failed task's: what a check task found wrong with a value, for one."""
    if status.state.ok or not status.message:
        return status
    first = next((t for t in status.tasks if t.state in (TaskState.FAILED, TaskState.ERROR) and t.message), None)
    if first is None or first.message in status.message:
        return status
    return status.model_copy(update={"message": f"{status.message}; first: {first.step}: {first.message}"})


def _notice(message: str) -> None:
    click.echo(f"notice: {message}", err=True)


def _now() -> float:
    import time

    return time.time()
