"""The plugin host: factory, registry, off-switch, fail-fast, and laziness."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import pytest
from flowyard import hookimpl
from flowyard.backend import Backend, Capability, CompiledFile, CompiledPipeline
from flowyard.errors import BackendNotFoundError, PluginError
from flowyard.plugins import backend_registry, make_plugin_manager


class _Toy(Backend):
    name = "toy"
    description = "a test backend"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CONTAINER_STEPS})

    def _compile(self, ir):
        return CompiledPipeline(self.name, (CompiledFile("x", ir.name),))


class ToyPlugin:
    @hookimpl
    def flowyard_register_backends(self, register):
        register(_Toy)


def test_test_plugins_register_without_entry_points() -> None:
    reg = backend_registry(load_entrypoints=False, plugins=[ToyPlugin()])
    assert reg.names() == ["toy"]
    info = reg.info("toy")
    assert info.distribution is None and info.capabilities == ["container-steps"]
    assert isinstance(reg.create("toy"), _Toy)


def test_installed_backends_come_from_entry_points() -> None:
    reg = backend_registry()
    assert {"local", "argo", "kubeflow"} <= set(reg.names())
    assert reg.info("local").distribution == "flowyard-local"
    assert "toy" not in reg.names()


def test_duplicate_backend_names_name_both_plugins() -> None:
    class Again(ToyPlugin):
        pass

    with pytest.raises(PluginError, match="two plugins register a backend named 'toy'"):
        backend_registry(load_entrypoints=False, plugins=[ToyPlugin(), Again()])


def test_registering_a_non_backend_is_an_error() -> None:
    class Bad:
        @hookimpl
        def flowyard_register_backends(self, register):
            register(object)

    with pytest.raises(PluginError, match="not a Backend class"):
        backend_registry(load_entrypoints=False, plugins=[Bad()])


def test_misspelled_hooks_fail_fast() -> None:
    class Typo:
        @hookimpl
        def flowyard_register_backend(self, register):  # missing "s"
            pass

    with pytest.raises(PluginError, match="implements a hook flowyard does not have"):
        make_plugin_manager(load_entrypoints=False, plugins=[Typo()])


def test_disable_env_blocks_named_plugins(monkeypatch) -> None:
    monkeypatch.setenv("FLOWYARD_DISABLE_PLUGINS", "argo, kubeflow")
    reg = backend_registry()
    assert "argo" not in reg.names() and "local" in reg.names()
    with pytest.raises(BackendNotFoundError, match="disabled by FLOWYARD_DISABLE_PLUGINS"):
        reg.info("argo")


def test_unknown_backend_lists_installed_ones() -> None:
    with pytest.raises(BackendNotFoundError, match=r"no backend named 'nope'; installed: .*local"):
        backend_registry().info("nope")


@pytest.mark.parametrize("argv", [["--help"], ["backends"]])
def test_cli_start_never_imports_hera_or_kfp(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from flowyard._cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('hera', 'kfp', 'kubernetes'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_help_does_not_even_import_pydantic() -> None:
    code = (
        "import sys\nfrom flowyard._cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('P', 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("P False")


def test_hook_flowyard_document_runner() -> None:
    """The hook: the first plugin claiming a document returns its runner; an unclaimed document gets None."""
    from flowyard.hookspecs import DocumentRun

    calls = []

    class Claimer:
        @hookimpl
        def flowyard_document_runner(self, document):
            if document.get("apiVersion") == "toy.example/v1":
                return lambda request: calls.append(request) or 7
            return None

    hook = make_plugin_manager(load_entrypoints=False, plugins=[Claimer()]).hook.flowyard_document_runner
    runner = hook(document={"apiVersion": "toy.example/v1", "kind": "Job"})
    assert runner(DocumentRun("job.yaml", params=("a=1",))) == 7
    assert calls == [DocumentRun("job.yaml", params=("a=1",))]
    assert hook(document={"apiVersion": "other/v1"}) is None


def test_hook_flowyard_register_backends() -> None:
    """The hook: each implementation's register() calls become registry entries, named by plugin."""
    seen = []

    class Recorder:
        @hookimpl
        def flowyard_register_backends(self, register):
            seen.append(register)
            register(_Toy)

    reg = backend_registry(load_entrypoints=False, plugins=[Recorder()])
    assert len(seen) == 1 and callable(seen[0])
    assert reg.names() == ["toy"]
