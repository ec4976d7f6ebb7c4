"""The fuzz suite's CI budget: mutated specs through the loader and every compiler, no unexpected
exception (see tests/fuzz_specs.py; the long run is benchmarks/fuzz_long.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzz_specs import Pool, mutants, seed_texts

EXAMPLES = int(os.environ.get("FLOWYARD_FUZZ_EXAMPLES", "40"))
SEEDS = seed_texts()


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    p = Pool()
    yield p
    p.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(text=mutants(SEEDS))
def test_a_mutated_spec_is_valid_or_refused_never_a_crash(pool: Pool, text: str) -> None:
    result = pool.run(text)
    assert result.outcome != "unexpected", f"{result.detail}\n{result.tb}\n--- the spec:\n{text[:3000]}"
