"""The first process of a pod, run inside fresh mount and network namespaces (``unshare --mount --net --fork``).

It builds the pod's root in the pod's own ``root/`` folder (so what the pod writes outside its declared folders,
``/result.txt`` say, stays there as it stays in a container's filesystem): the host's system folders read-only,
the pod's own folders read-write at the image paths, then chroots there and executes the pod's argv (no shell).
Run as ``python -I -S PATH/podinit.py ROOT WORKDIR N (TARGET HOST)*N M (TARGET HOST)*M K (NAME=VALUE)*K ARGV...``
(binds, read-only mounts, environment, then the pod's argv): as a file, in isolated mode, without ``site``, its
spec in its own argv, so that starting it imports nothing but ``ctypes`` (every further module, ``json`` and
``pathlib`` most of all, cost more than the interpreter's own start, once per pod). ``mount(2)`` is called directly.
"""

from __future__ import annotations

import ctypes
import os
import sys

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


def _inside(root: str, target: str) -> str:
    return os.path.join(root, target.lstrip("/"))


def _build_root(root: str, binds: dict[str, str], readonly: dict[str, str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for name in SYSTEM_DIRS + DEVICE_DIRS:
        if os.path.isdir("/" + name):
            os.mkdir(os.path.join(root, name))
            _mount(f"/{name}", os.path.join(root, name), None, MS_BIND | MS_REC)
            if name in SYSTEM_DIRS:
                _mount(None, os.path.join(root, name), None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for name in SYMLINKS:
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), os.path.join(root, name))
    for target in sorted(binds, key=len):
        os.makedirs(_inside(root, target), exist_ok=True)
        _mount(binds[target], _inside(root, target), None, MS_BIND)
    for target in sorted(readonly, key=len):  # the image map's mounts: host folders shown read-only
        os.makedirs(_inside(root, target), exist_ok=True)
        _mount(readonly[target], _inside(root, target), None, MS_BIND | MS_REC)
        _mount(None, _inside(root, target), None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _pairs(words: list[str], at: int) -> tuple[dict[str, str], int]:
    """A count, then that many ``TARGET HOST`` pairs, from ``words[at]``; the pairs and where the next part starts."""
    count = int(words[at])
    pairs = words[at + 1 : at + 1 + 2 * count]
    return dict(zip(pairs[::2], pairs[1::2], strict=True)), at + 1 + 2 * count


def main(words: list[str]) -> None:
    root, workdir = words[0], words[1]
    binds, at = _pairs(words, 2)
    readonly, at = _pairs(words, at)
    count = int(words[at])
    env = dict(item.split("=", 1) for item in words[at + 1 : at + 1 + count])
    argv = words[at + 1 + count :]
    _build_root(root, binds, readonly)
    os.chroot(root)
    os.chdir(workdir)
    os.execve(argv[0], argv, env)  # noqa: S606 - the pod's own argv, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
