"""``BackendContract``: the tests a backend inherits, gated by the capabilities it declares.

Like SQLAlchemy's requirement flags, a test marked ``@requires(Capability.X)`` runs only for
backends that declare X (for the others it checks that they refuse X); a capability added to flowyard
later is "not declared" by every existing backend, so old backends keep passing. A refusal ends the test
with :class:`flowyard.testing.refusals.ExpectedRefusal`, which the ``flowyard.testing.refusals`` pytest
plugin counts as passed. Like fsspec's abstract tests, the implementer overrides one
fixture, ``backend``.

Every test runs twice: with the runs' folder given, and with nothing configured, as a user first
starts (a fresh working folder, no ``FLOWYARD_HOME``: the default, relative ``./.flowyard/runs``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from flowyard._lowering import lower
from flowyard.backend import PLACEMENT_HINTS, Backend, Capability, CompiledPipeline
from flowyard.errors import UnsupportedFeatureError
from flowyard.ir import PipelineIR
from flowyard.runs import output_documents
from flowyard.testing.pipelines import CANONICAL_PIPELINES, EXPECTED_OUTPUTS, EXPECTED_STATUS
from flowyard.testing.refusals import expect_refusal, expect_undeclared

T = TypeVar("T", bound=Callable[..., Any])


def requires(*capabilities: Capability) -> Callable[[T], T]:
    """Run the test only for backends that declare every one of ``capabilities``."""

    def mark(fn: T) -> T:
        fn.flowyard_requires = (*getattr(fn, "flowyard_requires", ()), *capabilities)  # type: ignore[attr-defined]
        return fn

    return mark


def canonical_ir(name: str) -> PipelineIR:
    return lower(CANONICAL_PIPELINES[name]())


RUNNABLE = sorted(name for name, expected in EXPECTED_OUTPUTS.items() if expected is not None)


class BackendContract:
    """Subclass it in your tests and override the ``backend`` fixture."""

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("override the `backend` fixture: return an instance of your Backend")

    @pytest.fixture(autouse=True, params=["configured", "nothing-configured"])
    def runs_root(self, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | None:
        """The ``runs_root`` a test passes on: a folder given, or None with nothing configured."""
        if request.param == "configured":
            return tmp_path / "runs"
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        monkeypatch.delenv("FLOWYARD_HOME", raising=False)
        return None

    @pytest.fixture(autouse=True)
    def _capability_gate(self, request: pytest.FixtureRequest) -> None:
        needed = getattr(request.function, "flowyard_requires", ())
        if needed:
            backend: Backend = request.getfixturevalue("backend")
            missing = [c for c in needed if c not in backend.capabilities]
            if missing:
                expect_undeclared(backend, missing)

    @pytest.fixture(params=sorted(CANONICAL_PIPELINES))
    def canonical(self, request: pytest.FixtureRequest) -> PipelineIR:
        return canonical_ir(request.param)

    # --- identity --------------------------------------------------------------------------------

    def test_declares_a_dns_name_and_known_capabilities(self, backend: Backend) -> None:
        assert backend.name and backend.name == backend.name.lower()
        assert all(isinstance(c, Capability) for c in backend.capabilities)

    # --- the gate --------------------------------------------------------------------------------

    def test_refuses_each_undeclared_feature_by_name(self, backend: Backend, canonical: PipelineIR) -> None:
        from flowyard.backend import required_features

        undeclared = {
            u.capability
            for u in required_features(canonical)
            if isinstance(u.capability, Capability)
            and u.capability not in backend.capabilities
            and u.capability not in PLACEMENT_HINTS
        }
        report = backend.support(canonical)
        assert {u.capability for u in report.refused} >= undeclared
        if undeclared:
            with pytest.raises(UnsupportedFeatureError) as exc:
                backend.check(canonical)
            for cap in undeclared:
                assert cap.value in str(exc.value)
            with pytest.raises(UnsupportedFeatureError):  # the operation checks too: no caller can skip the gate
                backend.compile(canonical)

    def test_keeps_the_gate_in_front_of_every_operation(self, backend: Backend) -> None:
        """``compile``, ``run``, ``submit``... are :class:`Backend`'s own: they check, then call the
        backend's ``_compile``, ``_run``, ``_submit``...; a backend that overrode one would skip the gate."""
        for operation in ("compile", "run", "submit", "status", "logs", "summarize"):
            own = getattr(type(backend), operation)
            assert own is getattr(Backend, operation), (
                f"the {backend.name} backend overrides {operation}: implement _{operation}"
            )

    def test_compiles_every_pipeline_it_accepts(self, backend: Backend, canonical: PipelineIR) -> None:
        if not backend.support(canonical).ok:
            expect_refusal(backend, canonical)
        compiled = backend.compile(canonical)
        assert isinstance(compiled, CompiledPipeline)
        assert compiled.backend == backend.name
        assert compiled.main.content.strip()

    def test_names_that_collide_never_reach_a_backend(self) -> None:
        from flowyard.errors import SpecError
        from flowyard.spec import Container, Pipeline, Step

        step = Step(container=Container(command=["true"]))
        with pytest.raises(SpecError, match="'Load_Data' and 'load-data' both become 'load-data'"):
            lower(Pipeline(name="collide", steps={"Load_Data": step, "load-data": step}))

    @requires(Capability.RUN)
    @pytest.mark.parametrize("name", RUNNABLE)
    def test_runs_produce_the_expected_documents(self, backend: Backend, name: str, runs_root: Path | None) -> None:
        """Every backend that can run here produces the same output documents for the same inputs."""
        from flowyard._params import resolve_params
        from flowyard.runs import RunRequest

        ir = canonical_ir(name)
        if not backend.support(ir).ok:
            expect_refusal(backend, ir)
        status = backend.run(ir, RunRequest(params=resolve_params(ir), runs_root=runs_root))
        assert status.state.value == EXPECTED_STATUS.get(name, "Succeeded"), status.message
        assert output_documents(ir, status.outputs) == EXPECTED_OUTPUTS[name]

    @requires(Capability.SUMMARIZE)
    def test_summary_of_its_output_matches_the_ir(self, backend: Backend, canonical: PipelineIR) -> None:
        from flowyard.summary import summarize_ir

        if not backend.support(canonical).ok:
            expect_refusal(backend, canonical)
        assert backend.summarize(backend.compile(canonical)) == summarize_ir(canonical)
