"""``retries.backoff.max_duration`` means one thing everywhere (divergence 4): the cap on each wait, as
docs/spec.md says and the local backend does (``min(delay, max_duration)``).

Argo's ``backoff.maxDuration`` is something else: a budget counted from the first attempt, after which no retry
starts (``operator.go`` ``processNodeRetries``); the per-wait cap is ``backoff.cap``, from v3.7. So the compiler
writes ``cap``, and refuses ``max_duration`` by name when compiling for v3.6, which has no way to cap a wait.
"""

from __future__ import annotations

import pytest
from flowyard.errors import FlowyardError
from flowyard.testing.contract import canonical_ir
from flowyard_argo import ArgoBackend

from .conftest import STEP_IMAGE, manifest, template


@pytest.mark.parametrize("version", ["3.7.9", "4.1.2"])
def test_max_duration_caps_each_wait_as_argos_cap(version: str) -> None:
    backoff = template(manifest(canonical_ir("retries"), argo_version=version), "s-attempts")["retryStrategy"][
        "backoff"
    ]
    assert backoff == {"duration": "1s", "factor": 2, "cap": "10s"}


def test_max_duration_is_refused_by_name_for_argo_3_6() -> None:
    with pytest.raises(FlowyardError, match=r"max_duration.*3\.6.*cap"):
        ArgoBackend({"default_image": STEP_IMAGE, "argo_version": "3.6.19"}).compile(canonical_ir("retries"))
