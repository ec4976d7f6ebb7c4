"""Container and script templates as pods on this machine, and the outputs their executor (``argoexec``) saves.

``outputs.result`` is the pod's stdout less one trailing newline; an output parameter's ``valueFrom.path`` is read
from the pod's folder less one trailing newline (its ``default`` when the file is missing); output artifacts are
copied into the run's folder, ``artifacts/<node id>/<name>``, and saved to the artifact repository
(:mod:`flowyard_argo.executor.artifacts`).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor.artifacts.podio import load_input, save_logs, save_output
from flowyard_argo.executor.artifacts.repository import has_location_or_key
from flowyard_argo.executor.artifacts.secrets import Secrets
from flowyard_argo.executor.context import DEADLINE_EXCEEDED, ExecutionError, RunContext
from flowyard_argo.executor.expansion import expand_all
from flowyard_argo.executor.gojson import marshal
from flowyard_argo.executor.images import ImageError
from flowyard_argo.executor.nodes import Node
from flowyard_argo.executor.podenv import PodEnv, PodEnvError, pod_env
from flowyard_argo.executor.pods import PodError, PodResult, PodSpec, copy_path, run_pod
from flowyard_argo.executor.retry import parse_duration
from flowyard_argo.executor.volumes import pod_volumes

SCRIPT_PATH = "/argo/staging/script"
MAX_RESULT = 256 * 1024
MAX_ENV_VAR_LEN = 131072  # workflow/common/common.go MaxEnvVarLen


def _trim_newline(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def pod_spec(run: RunContext, node: Node, template: Mapping[str, Any]) -> tuple[PodSpec, str | None]:
    """The pod for a resolved container/script template, and the script source to stage (if any)."""
    body = template.get("container") or template.get("script") or {}
    image = run.images.image(str(body.get("image") or ""))
    command = [str(a) for a in body.get("command") or []]
    source = None
    if template.get("script") is not None:
        source = str(body.get("source") or "")
        command.append(SCRIPT_PATH)
    # Only inputs are mounted (workflowpod.go addInputArtifactsVolumes): an output path's folder is the image's
    # or the pod's to make, and its file is read from the pod's own filesystem (PodResult.host_path).
    declared = [a["path"] for a in (template.get("inputs") or {}).get("artifacts") or [] if a.get("path")]
    if source is not None:
        declared.append(SCRIPT_PATH)
    pod = node.pod or node.id
    env = _env(run, body, run.folder / "pods" / pod)
    volumes = pod_volumes(run.spec, template, run.folder, run.folder / "pods" / pod, run.configmaps)
    files: dict[str, Path] = {}
    for art in (template.get("inputs") or {}).get("artifacts") or []:
        loaded = input_source(run, node, art, template.get("archiveLocation")) if art.get("path") else None
        if loaded is not None:
            files[str(art["path"])] = loaded
        elif art.get("path") and _mounted(art, volumes):
            files[str(art["path"])] = _empty_folder(run)
    argv = _argv(run, command, body.get("args"), env.values, files)
    workdir = str(body.get("workingDir") or "/")
    spec = PodSpec(pod, image, argv, env.values, workdir, declared, files, volumes, env.secret_names)
    return spec, source


def _argv(run: RunContext, command: list[str], args: Any, env: Mapping[str, str], files: dict[str, Path]) -> list[str]:
    """What the pod's program is started with: ``command`` and ``args`` as the kubelet expands their ``$(VAR)``s,
    except ``args`` the controller offloaded to a ConfigMap (4.1: their JSON over ``MaxEnvVarLen``), which emissary
    reads back unexpanded and hands on with each large one as a file."""
    given = [str(a) for a in args or []]
    offloaded = args is not None and run.version.offloads_large_args and len(marshal(given).encode()) > MAX_ENV_VAR_LEN
    argv = expand_all(command, env) + (given if offloaded else expand_all(given, env))
    return _offload_large_args(run, argv, files) if offloaded else argv


def _offload_large_args(run: RunContext, argv: list[str], files: dict[str, Path]) -> list[str]:
    """What emissary runs when the controller offloaded ``args``: each argument after the program's name over
    ``MaxEnvVarLen`` becomes ``@/tmp/argo_arg_<i>.txt`` (``i`` counted from the argument after the name), a file
    holding it; the program never sees the value itself."""
    out = argv[:1]
    for i, arg in enumerate(argv[1:]):
        if len(arg.encode()) > MAX_ENV_VAR_LEN:
            path = f"/tmp/argo_arg_{i}.txt"  # noqa: S108 - inside the pod's own /tmp
            files[path] = raw_file(run, arg)
            arg = "@" + path
        out.append(arg)
    return out


def _mounted(art: Mapping[str, Any], volumes: Mapping[str, Path]) -> bool:
    """Whether the main container mounts the input at its path (``addInputArtifactsVolumes``: the shared
    ``input-artifacts`` volume with ``subPath`` the artifact's name, unless it is optional with nowhere to load
    from, or its path is inside a volume of the template's). An optional input found missing at load time is
    still mounted, and the kubelet makes a missing ``subPath`` as an empty folder (``makeMounts``,
    ``SafeMakeDir``; v4.1.2's init-less comment says as much), so the container sees an empty folder there."""
    if art.get("optional") and not has_location_or_key(art):
        return False
    path = str(art["path"])
    return not any(path == t or path.startswith(t.rstrip("/") + "/") for t in volumes)


def _empty_folder(run: RunContext) -> Path:
    folder = run.folder / "raw" / "empty"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _env(run: RunContext, body: Mapping[str, Any], folder: Path) -> PodEnv:
    """The container's environment as the kubelet resolves it; its skipped keys as the kubelet's events."""
    secrets = run.artifacts.settings.secrets if run.artifacts is not None else Secrets()
    try:
        env = pod_env(body, run.namespace, secrets, run.configmaps)
    except PodEnvError as e:
        raise ExecutionError(str(e)) from None
    if env.skipped:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "events.log").write_text(
            "".join(f"Warning InvalidEnvironmentVariableNames {m}\n" for m in env.skipped)
        )
    return env


def input_source(run: RunContext, node: Node, art: Mapping[str, Any], own: Any = None) -> Path | None:
    """The host file an input artifact is loaded from: an upstream output, its raw text, else its location."""
    if art.get("_local"):
        return Path(art["_local"])
    raw = art.get("raw")
    if isinstance(raw, Mapping):
        return raw_file(run, str(raw.get("data") or ""))
    return load_input(run, node, art, own)


def raw_file(run: RunContext, data: str) -> Path:
    """A raw artifact's data as the file argoexec's raw driver writes (``raw.go`` ``Load``: the text, as is),
    kept once per content in the run's folder."""
    blob = data.encode()
    path = run.folder / "raw" / hashlib.sha256(blob).hexdigest()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return path


def deadline(template: Mapping[str, Any]) -> float | None:
    """Seconds the pod may run: the template's ``timeout`` (which the controller turns into the pod's
    ``activeDeadlineSeconds``) or its ``activeDeadlineSeconds``, whichever is shorter."""
    limits = []
    if template.get("timeout"):
        limits.append(parse_duration(template["timeout"]))
    if template.get("activeDeadlineSeconds") is not None:
        limits.append(parse_duration(template["activeDeadlineSeconds"]))
    return min(limits) if limits else None


def pod_deadline(run: RunContext, template: Mapping[str, Any]) -> tuple[float | None, bool]:
    """(seconds the pod may run, whether the workflow's deadline is what limits it): ``workflowpod.go`` gives the
    pod the workflow's remaining whole seconds when fewer than the template's (none left: no pod); the controller
    then terminates it at the deadline itself (``exec_control.go``), which is when it is killed here."""
    own = deadline(template)
    if run.deadline is None:
        return own, False
    remaining = run.deadline - time.time()
    if int(remaining) <= 0:
        return 0.0, True
    if own is None or remaining < own:
        return remaining, True
    return own, False


def run_leaf(run: RunContext, node: Node, template: Mapping[str, Any], include_result: bool = False) -> None:
    """Run the pod (within the workflow's pod parallelism) and record its phase and outputs on ``node``."""
    folder = run.folder / "pods" / (node.pod or node.id)
    try:
        spec, source = pod_spec(run, node, template)
        if source is not None:
            script = folder / "fs" / SCRIPT_PATH.lstrip("/")
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(source)
            script.chmod(0o755)  # executor.go StageFiles: `command: [sh, -c]` runs it as a program
        if run.pod_slots is not None:
            run.pod_slots.acquire()
        try:
            limit, by_workflow = pod_deadline(run, template)
            if limit is not None and limit <= 0:  # workflowpod.go: no pod is made; the node waits Pending, then
                time.sleep(max(0.0, (run.deadline or 0.0) - time.time()))  # fails at the deadline (operator.go)
                node.finish(TaskState.FAILED, DEADLINE_EXCEEDED)
                return
            if run.record is not None:
                run.record.pod_started(run.tree, node)
            result = run_pod(spec, folder, limit)
        finally:
            if run.pod_slots is not None:
                run.pod_slots.release()
    except (ImageError, PodError) as e:
        raise ExecutionError(str(e)) from None
    node.outputs = {"exitCode": str(result.exit_code)}
    if include_result:
        node.outputs["result"] = _trim_newline(result.stdout)[-MAX_RESULT:]
    _save_outputs(run, node, template, result)
    if result.timed_out and by_workflow:  # exec_control.go applyExecutionControl: terminated at the deadline
        node.finish(TaskState.FAILED, DEADLINE_EXCEEDED)
    elif result.timed_out:
        node.finish(TaskState.FAILED, "Pod was active on the node longer than the specified deadline")
    elif result.exit_code != 0:
        said = termination_message(template, result)
        container = "main: " if run.version.names_failed_container else ""  # the main container's name
        node.finish(
            TaskState.FAILED, f"{container}Error (exit code {result.exit_code})" + (f": {said}" if said else "")
        )
    else:
        node.finish(TaskState.SUCCEEDED)


def termination_message(template: Mapping[str, Any], result: PodResult) -> str:
    """The failed container's termination message as the kubelet sets it under ``terminationMessagePolicy:
    FallbackToLogsOnError`` (the end of its log, at most 80 lines and 2048 bytes; nothing under the default
    policy, as no pod here writes ``/dev/termination-log``), which ``operator.go`` ``inferFailedReason`` appends."""
    body = template.get("container") or template.get("script") or {}
    if body.get("terminationMessagePolicy") != "FallbackToLogsOnError":
        return ""
    log = b"".join(p.read_bytes() for p in (result.folder / "stdout.log", result.folder / "stderr.log") if p.is_file())
    tail = b"\n".join(log.splitlines()[-80:])[-2048:]
    return tail.decode("utf-8", "replace").strip()


def _save_outputs(run: RunContext, node: Node, template: Mapping[str, Any], result: PodResult) -> None:
    outputs = template.get("outputs") or {}
    params = []
    for param in outputs.get("parameters") or []:
        source = param.get("valueFrom") or {}
        if not source.get("path"):
            continue
        host = result.host_path(source["path"])
        if host is not None and host.is_file():
            params.append({"name": param["name"], "value": _trim_newline(host.read_text(errors="replace"))})
        elif source.get("default") is not None:
            params.append({"name": param["name"], "value": str(source["default"])})
        elif result.exit_code == 0:
            raise ExecutionError(f"open {source['path']}: no such file or directory")
    if params:
        node.outputs["parameters"] = params
    arts = []
    for art in outputs.get("artifacts") or []:
        host = result.host_path(art["path"]) if art.get("path") else None
        if host is None or not host.exists():
            if not art.get("optional") and result.exit_code == 0:
                raise ExecutionError(f"open {art.get('path')}: no such file or directory")
            continue
        store = run.folder / "artifacts" / node.id / art["name"]
        store.parent.mkdir(parents=True, exist_ok=True)
        if store.is_dir():  # a retried pod's earlier output
            shutil.rmtree(store)
        copy_path(host, store)
        location = save_output(run, node, art, host, template.get("archiveLocation"))
        arts.append({"name": art["name"], "path": art["path"], **location, "_local": str(store)})
    logs = save_logs(run, node, template)
    if logs is not None:
        arts.append(logs)
    if arts:
        node.outputs["artifacts"] = arts
