"""The first process of a pod, run inside fresh mount and network namespaces (``unshare --mount --net --fork``).

It builds the pod's root in the pod's own ``root/`` folder (so what the pod writes outside its declared folders,
``/result.txt`` say, stays there as it stays in a container's filesystem): the host's system folders read-only,
the pod's own folders read-write at the image paths, then chroots there and executes the pod's argv (no shell).
Run as ``python PATH/podinit.py SPEC.json`` (as a file, so that starting it imports nothing but the standard
library), with ``mount(2)`` called directly.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path

SYSTEM_DIRS = ("usr", "etc")
DEVICE_DIRS = ("dev", "proc", "sys")
SYMLINKS = ("bin", "lib", "lib64", "sbin", "lib32", "libx32")


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def _bytes(value: str | None) -> bytes | None:
    return value.encode() if value is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """``mount(2)``; an error names the target and the reason."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


def _build_root(root: Path, binds: dict[str, str], readonly: dict[str, str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for name in SYSTEM_DIRS + DEVICE_DIRS:
        if Path("/", name).is_dir():
            (root / name).mkdir()
            _mount(f"/{name}", str(root / name), None, MS_BIND | MS_REC)
            if name in SYSTEM_DIRS:
                _mount(None, str(root / name), None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for name in SYMLINKS:
        link = Path("/", name)
        if link.is_symlink():
            (root / name).symlink_to(os.readlink(link))
    for target in sorted(binds, key=len):
        inside = root / target.lstrip("/")
        inside.mkdir(parents=True, exist_ok=True)
        _mount(binds[target], str(inside), None, MS_BIND)
    for target in sorted(readonly, key=len):  # the image map's mounts: host folders shown read-only
        inside = root / target.lstrip("/")
        inside.mkdir(parents=True, exist_ok=True)
        _mount(readonly[target], str(inside), None, MS_BIND | MS_REC)
        _mount(None, str(inside), None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    root = Path(spec["root"])
    _build_root(root, spec["binds"], spec.get("readonly", {}))
    os.chroot(root)
    os.chdir(spec["workdir"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])  # noqa: S606 - the pod's own argv, no shell


if __name__ == "__main__":
    main(sys.argv[1])
