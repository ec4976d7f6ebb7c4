"""The first process of a pod, run inside fresh mount and network namespaces (``unshare --mount --net --fork``).

It builds the pod's root in a tmpfs: the host's system folders read-only, the pod's own folders read-write at the
image paths, then chroots there and executes the pod's argv (no shell). Run as
``python -m flowyard_argo.executor.podinit SPEC.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SYSTEM_DIRS = ("usr", "etc")
DEVICE_DIRS = ("dev", "proc", "sys")
SYMLINKS = ("bin", "lib", "lib64", "sbin", "lib32", "libx32")


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _build_root(root: Path, binds: dict[str, str]) -> None:
    _mount("--make-rprivate", "/")
    _mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(root))
    for name in SYSTEM_DIRS + DEVICE_DIRS:
        if Path("/", name).is_dir():
            (root / name).mkdir()
            _mount("--rbind", f"/{name}", str(root / name))
            if name in SYSTEM_DIRS:
                _mount("-o", "remount,bind,ro", str(root / name))
    for name in SYMLINKS:
        link = Path("/", name)
        if link.is_symlink():
            (root / name).symlink_to(os.readlink(link))
    for target in sorted(binds, key=len):
        inside = root / target.lstrip("/")
        inside.mkdir(parents=True, exist_ok=True)
        _mount("--bind", binds[target], str(inside))


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    root = Path(spec["root"])
    _build_root(root, spec["binds"])
    os.chroot(root)
    os.chdir(spec["workdir"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])  # noqa: S606 - the pod's own argv, no shell


if __name__ == "__main__":
    main(sys.argv[1])
