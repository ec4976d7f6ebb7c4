"""Every distribution is publishable as it stands: licence text, classifiers, one version, READMEs for the index."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
MEMBERS = [".", "core", "backends/local", "backends/argo", "backends/kubeflow"]
VERSION_FILE = REPO / "core" / "src" / "flowyard" / "_version.py"


def project(member: str) -> dict:
    return tomllib.loads((REPO / member / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("member", MEMBERS)
def test_ships_the_apache_licence_text(member: str) -> None:
    meta = project(member)["project"]
    assert meta["license"] == "Apache-2.0" and meta["license-files"] == ["LICENSE"]
    text = (REPO / member / "LICENSE").read_text(encoding="utf-8")
    assert text == (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text


@pytest.mark.parametrize("member", MEMBERS)
def test_has_classifiers_and_urls(member: str) -> None:
    meta = project(member)["project"]
    assert "Development Status :: 3 - Alpha" in meta["classifiers"]
    assert not any(c.startswith("License ::") for c in meta["classifiers"]), "the licence expression says it"
    assert all(url.startswith("https://") for url in meta["urls"].values())


@pytest.mark.parametrize("member", MEMBERS)
def test_takes_its_version_from_the_one_version_file(member: str) -> None:
    data = project(member)
    assert "version" not in data["project"] and data["project"]["dynamic"] == ["version"]
    assert (REPO / member / data["tool"]["hatch"]["version"]["path"]).resolve() == VERSION_FILE


@pytest.mark.parametrize("member", MEMBERS[1:])
def test_readme_renders_on_the_index(member: str) -> None:
    text = (REPO / member / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert links and all(link.startswith("https://") for link in links), links


def test_the_meta_sdist_holds_only_what_it_needs() -> None:
    sdist = project(".")["tool"]["hatch"]["build"]["targets"]["sdist"]
    assert sdist["only-include"] == ["README.md", "LICENSE"]


@pytest.mark.parametrize("member", MEMBERS[1:])
def test_says_it_is_typed_and_ships_the_marker(member: str) -> None:
    """PEP 561: without ``py.typed`` in the wheel, a user's mypy treats the package as untyped."""
    data = project(member)
    assert "Typing :: Typed" in data["project"]["classifiers"]
    wheel = data["tool"]["hatch"]["build"]["targets"].get("wheel", {})
    packages = wheel.get("packages") or [f"src/{p.name}" for p in (REPO / member / "src").iterdir() if p.is_dir()]
    for package in packages:
        assert (REPO / member / package / "py.typed").is_file(), f"{member}: {package}/py.typed"
