"""A pod on this machine: the container's argv as a process in its own folder, namespaces and process group.

The pod folder holds ``fs/<path>`` for every folder the pod may write (``/tmp``, the working directory, the parent
of every declared input/output path, the image's folders), ``stdout.log``/``stderr.log``, and ``pod.json``, a
record of what the pod was given. The run's pod launcher (:mod:`launcher`, :mod:`podinit`) forks the pod, makes its
namespaces and root, and executes its argv. flowyard adds no shell: the argv is the manifest's, its first word
resolved through the image map.
"""

from __future__ import annotations

import functools
import json
import posixpath
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowyard_argo.executor.images import Image, ImageError
from flowyard_argo.executor.launcher import PROGRAM, LauncherError, shared_launcher

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_TOPS = ("usr", "etc", "dev", "proc", "sys", "bin", "lib", "lib64", "sbin", "lib32", "libx32")  # podinit's
IMAGE_TOPS = ("home", "media", "mnt", "opt", "root", "run", "srv", "var")  # a base image's other top folders
POD_HOME = "/tmp"  # noqa: S108 - the pod's own /tmp, a folder of its own


class PodError(ValueError):
    """A pod that cannot be set up here (refused by name)."""


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """Whether this process may create mount and network namespaces (root, or user namespaces allowed)."""
    try:
        probe = [sys.executable, "-I", "-S", str(PROGRAM), "--probe"]
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass(frozen=True)
class PodSpec:
    name: str
    image: Image
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = "/"
    declared_paths: Sequence[str] = ()
    files: Mapping[str, Path] = field(default_factory=dict)  # image path -> host file/folder copied in first
    volumes: Mapping[str, Path] = field(default_factory=dict)  # mount path -> host folder bound as is (volumes.py)
    secret_env: frozenset[str] = frozenset()  # variables whose value is a secret: never written to pod.json


@dataclass(frozen=True)
class PodResult:
    exit_code: int
    stdout: str
    folder: Path
    binds: Mapping[str, Path]
    timed_out: bool = False

    def host_path(self, path: str) -> Path | None:
        """Where an image path the pod wrote lives on the host: in one of its folders, else in its root folder
        (``None`` for the host's read-only system folders and the image's mounts)."""
        for target in sorted(self.binds, key=len, reverse=True):
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return self.binds[target] / posixpath.relpath(path, target)
        normal = posixpath.normpath(path)
        top = normal.strip("/").split("/", 1)[0]
        if not normal.startswith("/") or top in SYSTEM_TOPS or self.folder == Path():
            return None
        return self.folder / "root" / normal.lstrip("/")


def bind_targets(spec: PodSpec) -> list[str]:
    """The image folders the pod gets read-write: outermost only, ``/`` refused."""
    wanted = {"/tmp", spec.working_dir, *spec.image.folders}  # noqa: S108 - the pod's own /tmp, a folder of its own
    for path in spec.declared_paths:
        wanted.add(posixpath.dirname(posixpath.normpath(path)))
    wanted.discard("/")
    for path in list(wanted):
        if not path.startswith("/"):
            raise PodError(f"pod {spec.name}: path {path!r} is not absolute")
    ordered = sorted(wanted, key=len)
    return [p for i, p in enumerate(ordered) if not any(p.startswith(q.rstrip("/") + "/") for q in ordered[:i])]


def prepare(spec: PodSpec, folder: Path) -> dict[str, Path]:
    """Make the pod's folders, fill them from the image and the input files; return image path -> host folder."""
    binds: dict[str, Path] = {}
    for target in bind_targets(spec):
        host = folder / "fs" / target.lstrip("/")
        host.mkdir(parents=True, exist_ok=True)
        binds[target] = host
    for target, host in spec.volumes.items():  # a volume replaces the pod's own folders at and under its path
        for inner in [t for t in binds if t == target or t.startswith(target.rstrip("/") + "/")]:
            del binds[inner]
        binds[target] = host
    for path in spec.declared_paths:  # a declared path's folder exists, as a volume mount would make it
        _under(binds, posixpath.dirname(posixpath.normpath(path)), folder).mkdir(parents=True, exist_ok=True)
    for target, source in spec.image.folders.items():
        host = _under(binds, target, folder)
        if not source.is_dir():
            raise ImageError(f"image {spec.image.name!r}: folder {source} for {target} does not exist")
        shutil.copytree(source, host, dirs_exist_ok=True)
    for target, source in spec.files.items():
        host = _under(binds, target, folder)
        host.parent.mkdir(parents=True, exist_ok=True)
        copy_path(source, host)
    return binds


def copy_path(source: Path, target: Path) -> None:
    """Copy a file, or a folder's contents into ``target`` (made if need be): an artifact is either."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)


def _under(binds: Mapping[str, Path], path: str, folder: Path = Path()) -> Path:
    result = PodResult(0, "", folder, binds).host_path(path)
    if result is None:
        raise PodError(f"path {path!r} is outside the pod's folders")
    return result


def run_pod(spec: PodSpec, folder: Path, timeout: float | None = None) -> PodResult:
    """Run the pod to its end; stdout and stderr kept in the pod folder."""
    if not namespaces_available():
        raise PodError("pods need mount and network namespaces (unshare), which this machine does not allow")
    if not spec.argv:
        raise PodError(f"pod {spec.name}: the container has no command (an image's entrypoint cannot be known here)")
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "root").exists():  # a pod run again (argo retry) starts from a fresh filesystem
        shutil.rmtree(folder / "root")
    binds = prepare(spec, folder)
    argv = [*spec.image.resolve(spec.argv[0]), *spec.argv[1:]]
    (folder / "root").mkdir(exist_ok=True)
    for top in IMAGE_TOPS:  # what every image's root has, for the pod to write in (map-reduce.yaml's /mnt/out)
        (folder / "root" / top).mkdir(exist_ok=True)
    env = {"PATH": DEFAULT_PATH, "HOME": POD_HOME, **spec.env}
    pod_spec = {
        "root": str(folder / "root"),
        "binds": {k: str(v) for k, v in binds.items()},
        "readonly": {k: str(v) for k, v in spec.image.mounts.items()},
        "argv": argv,
        "env": env,
        "workdir": spec.working_dir,
    }
    shown = {**pod_spec, "env": {k: "***" if k in spec.secret_env else v for k, v in env.items()}}
    (folder / "pod.json").write_text(json.dumps(shown, indent=1))  # what the pod was given, for its reader
    request = {**pod_spec, "stdout": str(folder / "stdout.log"), "stderr": str(folder / "stderr.log")}
    try:
        end = shared_launcher().run(request, timeout)
    except LauncherError as e:
        raise PodError(f"pod {spec.name}: {e}") from None
    stdout = (folder / "stdout.log").read_bytes().decode("utf-8", "replace")
    return PodResult(end.exit_code, stdout, folder, binds, end.timed_out)
