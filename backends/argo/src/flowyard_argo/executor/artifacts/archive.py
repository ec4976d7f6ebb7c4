"""Archives as ``argoexec`` makes and reads them (``workflow/executor/executor.go``).

Saving (``stageArchiveFile``): the default strategy (and ``tar: {}``) stores ``<name>.tgz``, a gzip tarball whose
entries are the path's base name (``util/archive/archive.go`` ``tarFile``/``tarDir``); ``none: {}`` stores the file
or folder as it is, named by the path's base name; ``zip: {}`` stores ``<name>.zip``.
Loading (``unarchiveArtifact``): ``none`` keeps the bytes, ``tar``/``zip`` unpack, no strategy detects a gzip
tarball (``isTarball``: a gzip stream whose first tar header reads); one entry becomes the path itself, several
make it a folder (``unpack``). Tar members are extracted with tarfile's ``data`` filter (no absolute names, no
``..``, no links out of the folder, no devices), where upstream's ``untar`` refuses the same escapes.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ArchiveError(ValueError):
    """An archive that cannot be made or read (its message names the artifact)."""


def strategy(art: Mapping[str, Any]) -> str:
    """``tar`` (the default), ``none`` or ``zip``: the artifact's ``archive`` field."""
    archive = art.get("archive")
    if not isinstance(archive, Mapping) or not archive:
        return "tar"
    for kind in ("none", "zip", "tar"):
        if archive.get(kind) is not None:
            return kind
    return "tar"


def _compression(art: Mapping[str, Any]) -> int:
    level = ((art.get("archive") or {}).get("tar") or {}).get("compressionLevel")
    return 6 if level is None or int(level) < 0 else min(int(level), 9)  # gzip.DefaultCompression is zlib's 6


def pack(art: Mapping[str, Any], source: Path, work: Path) -> tuple[str, Path]:
    """The file name the artifact is stored under and the local file (or folder) to upload."""
    name = str(art.get("name") or "artifact")
    base = Path(str(art.get("path") or source.name)).name
    kind = strategy(art)
    work.mkdir(parents=True, exist_ok=True)
    if kind == "none":
        return base, source
    if kind == "zip":
        target = work / f"{name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in [source, *sorted(source.rglob("*"))] if source.is_dir() else [source]:
                relative = Path(base) / path.relative_to(source) if source.is_dir() else Path(base)
                archive.write(path, str(relative))
        return target.name, target
    target = work / f"{name}.tgz"
    with (
        gzip.GzipFile(target, "wb", compresslevel=_compression(art), mtime=0) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        tar.add(source, arcname=base)
    return target.name, target


def is_tarball(path: Path) -> bool:
    """``isTarball``: a gzip stream whose first tar header reads."""
    if not path.is_file():
        return False
    try:
        with gzip.open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            return tar.next() is not None
    except (OSError, EOFError, tarfile.TarError):
        return False


def unpack(art: Mapping[str, Any], loaded: Path, target: Path) -> None:
    """``unarchiveArtifact``: put what was loaded at ``target``, unpacked when it is an archive."""
    kind = strategy(art) if art.get("archive") else ("tar" if is_tarball(loaded) else "none")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "none":
        shutil.move(str(loaded), target)
        return
    folder = target.with_name(target.name + ".tmpdir")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            _unzip(loaded, folder)
        else:
            with tarfile.open(loaded, "r:gz") as tar:
                _extract(tar, folder)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as e:
        raise ArchiveError(f"artifact {art.get('name')}: cannot unpack its archive: {e}") from None
    loaded.unlink(missing_ok=True)
    entries = list(folder.iterdir())
    if len(entries) == 1:
        entries[0].rename(target)
        folder.rmdir()
    else:
        folder.rename(target)


def _extract(tar: tarfile.TarFile, folder: Path) -> None:
    """tarfile's ``data`` filter where this Python has it (3.11.4 and later); before, the same checks made here."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(folder, filter="data")
    else:
        tar.extractall(folder, members=_data_members(tar, folder))  # noqa: S202 - every member checked


def _data_members(tar: tarfile.TarFile, folder: Path) -> list[tarfile.TarInfo]:
    """What the ``data`` filter lets through: regular files, folders and links that stay inside ``folder``, with
    no owner of the archive's and no setuid, setgid or group/other write bits."""
    root = folder.resolve()
    members = []
    for member in tar.getmembers():
        where = (root / member.name).resolve()
        if member.name.startswith("/") or not where.is_relative_to(root):
            raise tarfile.TarError(f"{member.name!r} would be extracted outside the destination")
        if member.issym() or member.islnk():
            base = where.parent if member.issym() else root
            if member.linkname.startswith("/") or not (base / member.linkname).resolve().is_relative_to(root):
                raise tarfile.TarError(f"{member.name!r} is a link to {member.linkname!r}, outside the destination")
        elif not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a special file")
        member.mode = (member.mode & 0o755) | (0o700 if member.isdir() else 0o600)
        member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
        members.append(member)
    return members


def _unzip(source: Path, folder: Path) -> None:
    root = folder.resolve()
    with zipfile.ZipFile(source) as archive:
        for member in archive.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise ArchiveError(f"{member}: Illegal file path")
        archive.extractall(folder)  # noqa: S202 - every member checked above, as upstream's unzip does
