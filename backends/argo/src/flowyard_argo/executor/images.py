"""The image map: which host programs and folders stand in for a container image.

There is no container runtime here, so an image is what the map says it is: programs (a command name mapped to a
host executable, optionally with leading arguments, e.g. busybox applets) and folders (an image path filled with a
copy of a host folder, made for each pod) and mounts (an image path showing a host folder read-only, nothing
copied: an installed Python environment, say). An image the map does not know is refused by name, never run against
the host's files.
Defaults: ``python`` images get the host's ``python3``; ``busybox`` and ``alpine`` get the host's ``busybox``
(refused when the host has none).
"""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ImageError(ValueError):
    """An image or program this machine cannot stand in for (one line, by name)."""


@dataclass(frozen=True)
class Image:
    """A stand-in for one image: command names to host argv prefixes, image folders to host folders."""

    name: str
    programs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    folders: Mapping[str, Path] = field(default_factory=dict)
    mounts: Mapping[str, Path] = field(default_factory=dict)  # image path -> host folder, bound read-only
    any_program: tuple[str, ...] | None = None  # busybox: every applet name runs as ``busybox NAME``

    def resolve(self, argv0: str) -> list[str]:
        """The host argv prefix for the manifest's command name (its basename is tried too)."""
        for key in (argv0, argv0.rsplit("/", 1)[-1]):
            if key in self.programs:
                return list(self.programs[key])
        if self.any_program is not None:
            return [*self.any_program, argv0.rsplit("/", 1)[-1]]
        raise ImageError(f"image {self.name!r} has no program {argv0!r} in the image map")


def _host(program: str) -> str | None:
    for candidate in (f"/usr/bin/{program}", f"/bin/{program}"):
        if Path(candidate).exists():
            return candidate
    return shutil.which(program)


def default_images() -> dict[str, dict[str, Any]]:
    """The built-in entries (patterns over the image name without registry host)."""
    python = _host("python3")
    entries: dict[str, dict[str, Any]] = {}
    if python:
        entries["python*"] = {"programs": {"python": [python], "python3": [python]}}
    busybox = _host("busybox")
    for pattern in ("busybox*", "alpine*"):
        entries[pattern] = {"busybox": busybox} if busybox else {"missing": "the host has no busybox"}
    return entries


@dataclass(frozen=True)
class ImageMap:
    """User entries (from ``-O image_map=FILE``) first, then the defaults."""

    entries: Mapping[str, Mapping[str, Any]]
    base: Path = Path()

    @classmethod
    def load(cls, path: str | None) -> ImageMap:
        if not path:
            return cls(default_images())
        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise ImageError(f"image map {path}: {e}") from None
        if not isinstance(data, dict):
            raise ImageError(f"image map {path}: expected a mapping of image names")
        for pattern, entry in data.items():
            problem = _entry_problem(entry)
            if problem:
                raise ImageError(f"image map {path}: entry {str(pattern)!r}{problem}")
        return cls({**data, **{k: v for k, v in default_images().items() if k not in data}}, file.parent)

    def image(self, name: str) -> Image:
        short = name.split("/")[-1] if "/" in name and "." in name.split("/")[0] else name
        for pattern, entry in self.entries.items():
            if (
                name == pattern
                or short == pattern
                or fnmatch.fnmatchcase(short, pattern)
                or short.split(":")[0] == pattern
            ):
                return self._build(name, entry)
        raise ImageError(f"image {name!r} has no entry in the image map (-O image_map=FILE)")

    def _build(self, name: str, entry: Mapping[str, Any]) -> Image:
        if entry.get("missing"):
            raise ImageError(f"image {name!r}: {entry['missing']}")
        programs = {str(k): tuple(v if isinstance(v, list) else [v]) for k, v in (entry.get("programs") or {}).items()}
        folders = {str(k): (self.base / str(v)).resolve() for k, v in (entry.get("folders") or {}).items()}
        mounts = {str(k): (self.base / str(v)).resolve() for k, v in (entry.get("mounts") or {}).items()}
        for target, source in mounts.items():
            if not target.startswith("/") or target == "/" or not source.is_dir():
                raise ImageError(f"image {name!r}: mount {target} needs an absolute image path and a host folder")
        busybox = entry.get("busybox")
        return Image(name, programs, folders, mounts, (str(busybox),) if busybox else None)


_MAPPINGS = ("programs", "folders", "mounts")  # an entry's fields that map a name to a host path or argv


def _entry_problem(entry: Any) -> str:
    """What is wrong with one image-map entry, as the end of an error naming it (empty when nothing is)."""
    if not isinstance(entry, dict):
        return ": expected a mapping (programs, folders, mounts, busybox)"
    for key in _MAPPINGS:
        if entry.get(key) is not None and not isinstance(entry[key], dict):
            return f", {key}: expected a mapping, got {type(entry[key]).__name__}"
    unknown = sorted(str(k) for k in entry if k not in (*_MAPPINGS, "busybox", "missing"))
    return f": unknown field {unknown[0]!r} (programs, folders, mounts, busybox)" if unknown else ""


def host_python_entry() -> dict[str, Any]:
    """An image-map entry standing in for an image that has flowyard-core installed: the host's ``python3`` with
    this process's flowyard and site-packages mounted read-only (so ``python3 -m flowyard.step ...`` runs as in
    the step image). Refused by name when the host's ``python3`` is not this interpreter's minor version (the
    compiled packages would not load)."""
    import subprocess
    import sys
    import sysconfig

    import flowyard

    python = _host("python3")
    if python is None:
        raise ImageError("the host has no python3 to stand in for a flowyard step image")
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    if version.stdout.strip() != str(sys.version_info[:2]):
        raise ImageError(f"the host's {python} is not Python {sys.version_info[0]}.{sys.version_info[1]}")
    roots = [
        Path(flowyard.__file__).resolve().parents[1],
        *(Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")),
    ]
    unique = list(dict.fromkeys(str(r) for r in roots))
    mounts = {f"/opt/flowyard/python{i}": folder for i, folder in enumerate(unique)}
    argv = ["/usr/bin/env", "PYTHONPATH=" + ":".join(mounts), python]
    return {"programs": {"python": argv, "python3": argv}, "mounts": mounts}
