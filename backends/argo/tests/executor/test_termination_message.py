"""A failed container's termination message under ``terminationMessagePolicy: FallbackToLogsOnError``: the end of its
log, at most 80 lines and 2048 bytes (the kubelet's rule, Kubernetes ``Container.terminationMessagePolicy``), which
``inferFailedReason`` (``workflow/controller/operator.go``, v3.6.19 to v4.1.2) appends to the node's message; under
the default policy no pod here writes ``/dev/termination-log``, so the message is the exit code alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import by_display, needs_namespaces, run_manifest

MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: said}
spec:
  entrypoint: fail
  templates:
  - name: fail
    container:
      image: python:3.12
      command: [python, -c, "import sys; print('\\\\n'.join(map(str, range(100)))); sys.exit('the value is wrong')"]
      POLICY
"""


@needs_namespaces
@pytest.mark.parametrize("policy", ["FallbackToLogsOnError", None])
def test_a_failed_containers_log_end_is_its_message_only_when_asked(tmp_path: Path, policy: str | None) -> None:
    text = MANIFEST.replace("POLICY", f"terminationMessagePolicy: {policy}" if policy else "")
    run = run_manifest(text, tmp_path)
    node = by_display(run)["said"]
    message = node.message  # type: ignore[attr-defined]
    if policy is None:
        assert message == "main: Error (exit code 1)"  # 4.1.2 names the container (as 3.7.9 does)
        return
    assert message.startswith("main: Error (exit code 1): ") and message.endswith("99\nthe value is wrong")
    said = message.removeprefix("main: Error (exit code 1): ")
    assert len(said.splitlines()) == 80 and said.splitlines()[0] == "21"


@needs_namespaces
@pytest.mark.parametrize(
    ("version", "prefix"),
    [
        ("3.6.19", ""),
        ("3.7.9", "main: "),
        ("4.1.2", "main: "),
    ],
)
def test_from_3_7_a_failed_containers_message_names_the_container(tmp_path: Path, version: str, prefix: str) -> None:
    """``inferFailedReason`` prefixes the failed container's name from v3.7.9 (``msg = ctr.Name + ": " + msg``);
    v3.6.19 gives the reason and exit code alone."""
    run = run_manifest(MANIFEST.replace("POLICY", ""), tmp_path, version)
    assert by_display(run)["said"].message == f"{prefix}Error (exit code 1)"  # type: ignore[attr-defined]
