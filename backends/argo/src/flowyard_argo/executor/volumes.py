"""Volumes as folders on this machine, bound into the pods at their ``volumeMounts``.

The controller adds ``spec.volumes``, a template's ``volumes`` and one claim per ``volumeClaimTemplates`` entry to
the pod (``workflow/controller/workflowpod.go`` ``createWorkflowPod``: ``addVolumeReferences``; the claims are made
by ``operator.go`` ``createPVCs``, named ``WORKFLOW-NAME``, and live as long as the workflow). Here a claim (made
from a template, or an existing ``persistentVolumeClaim`` named by ``claimName``) is a folder of the run,
``volumes/NAME``, empty when the run starts and shared by its pods; an ``emptyDir`` is a folder of its pod
(Kubernetes makes one per pod), ``pods/POD/volumes/NAME``; a ``configMap`` volume is a folder of the pod holding
one file per key of the ConfigMap (or per ``items`` entry, at its ``path``), as the kubelet writes it. A mount's
``subPath`` is a folder (or file) inside. Other kinds (``hostPath``, ``secret``, ``nfs``...) are refused by name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flowyard_argo.executor.configmaps import ConfigMapError, ConfigMaps
from flowyard_argo.executor.context import ExecutionError

PER_POD = ("emptyDir", "configMap")
PER_RUN = ("persistentVolumeClaim",)


def refusals(spec: Mapping[str, Any]) -> Iterator[str]:
    """Volumes of kinds that cannot be a folder here, and mounts of volumes nobody declared."""
    for index, vol in enumerate(spec.get("volumes") or []):
        yield from _kind_refusal(vol, f"spec.volumes[{index}] ({vol.get('name')})")
    declared = _declared_names(spec)
    for index, tmpl in enumerate(spec.get("templates") or []):
        path = f"spec.templates[{index}] ({tmpl.get('name')})"
        for vol_index, vol in enumerate(tmpl.get("volumes") or []):
            yield from _kind_refusal(vol, f"{path}.volumes[{vol_index}] ({vol.get('name')})")
        names = declared | {str(v.get("name")) for v in tmpl.get("volumes") or []}
        body = tmpl.get("container") or tmpl.get("script") or {}
        for mount in body.get("volumeMounts") or []:
            if str(mount.get("name")) not in names and "{{" not in str(mount.get("name")):
                yield f"{path}: volumeMount {mount.get('name')}: no volume of that name"


def _kind_refusal(vol: Mapping[str, Any], path: str) -> Iterator[str]:
    kinds = [k for k in vol if k != "name"]
    if not any(k in PER_POD + PER_RUN for k in kinds):
        what = kinds[0] if kinds else "no source"
        yield f"{path}: {what} volumes (only emptyDir, configMap and persistent volume claims are folders here)"


def _declared_names(spec: Mapping[str, Any]) -> set[str]:
    names = {str(v.get("name")) for v in spec.get("volumes") or []}
    return names | {str((c.get("metadata") or {}).get("name")) for c in spec.get("volumeClaimTemplates") or []}


def existing_claims(spec: Mapping[str, Any]) -> list[str]:
    """The claims named by ``claimName``: a notice says they start empty here."""
    return [
        str((v.get("persistentVolumeClaim") or {}).get("claimName"))
        for tmpl in [spec, *(spec.get("templates") or [])]
        for v in tmpl.get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def pod_volumes(
    spec: Mapping[str, Any], template: Mapping[str, Any], run_folder: Path, pod_folder: Path, configmaps: ConfigMaps
) -> dict[str, Path]:
    """Mount path -> host folder for every ``volumeMounts`` entry of the (resolved) template's container."""
    body = template.get("container") or template.get("script") or {}
    mounts = body.get("volumeMounts") or []
    if not mounts:
        return {}
    volumes = {str(v.get("name")): v for v in [*(spec.get("volumes") or []), *(template.get("volumes") or [])]}
    per_pod = {name for name, v in volumes.items() if any(k in v for k in PER_POD)}
    for name, vol in volumes.items():
        if isinstance(vol.get("configMap"), Mapping) and any(str(m.get("name")) == name for m in mounts):
            _configmap_files(vol["configMap"], name, pod_folder / "volumes" / name, configmaps)
    known = _declared_names(spec) | {str(v.get("name")) for v in template.get("volumes") or []}
    out: dict[str, Path] = {}
    for mount in mounts:
        name = str(mount.get("name"))
        if name not in known:
            raise ExecutionError(f"volumeMount {name}: no volume of that name")
        target = posixpath.normpath(str(mount.get("mountPath") or ""))
        if not target.startswith("/") or target == "/":
            raise ExecutionError(f"volumeMount {name}: mountPath {mount.get('mountPath')!r} cannot be mounted here")
        base = (pod_folder if name in per_pod else run_folder) / "volumes" / name
        sub = posixpath.normpath("/" + str(mount.get("subPath") or "")).lstrip("/")
        host = base / sub if sub else base
        if host.is_file():
            raise ExecutionError(f"volumeMount {name}: subPath {sub} is a file, which cannot be mounted here")
        host.mkdir(parents=True, exist_ok=True)
        out[target] = host
    return out


def _configmap_files(source: Mapping[str, Any], name: str, folder: Path, configmaps: ConfigMaps) -> None:
    """The kubelet's configMap volume: a file per key (or per ``items`` entry); a missing map fails the mount
    unless ``optional``."""
    cm = str(source.get("name"))
    try:
        data = configmaps.data(cm)
    except ConfigMapError:
        if source.get("optional"):
            folder.mkdir(parents=True, exist_ok=True)
            return
        raise ExecutionError(f'MountVolume.SetUp failed for volume "{name}" : configmap "{cm}" not found') from None
    items = source.get("items") or [{"key": k, "path": k} for k in data]
    for item in items:
        key = str(item.get("key"))
        if key not in data:
            raise ExecutionError(
                f'MountVolume.SetUp failed for volume "{name}" : configmap references non-existent config key: {key}'
            )
        target = folder / posixpath.normpath("/" + str(item.get("path") or key)).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data[key])
